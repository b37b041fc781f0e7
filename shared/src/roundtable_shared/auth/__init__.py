"""Authentication and authorisation: bearer tokens, roles, webhook signatures.

The development token issuer is not here: it is ``roundtable_dev.local.dev_issuer``, in no image.
"""

from roundtable_shared.auth.dependencies import (
    CurrentPrincipal,
    DirectoryAdmin,
    ProgramAdmin,
    Sponsor,
    bearer_token,
    current_principal,
    require_role,
    token_verifier,
)
from roundtable_shared.auth.tokens import (
    ALLOWED_ALGORITHMS,
    Principal,
    Role,
    TokenVerifier,
    claim_at,
    parse_roles,
)
from roundtable_shared.auth.webhooks import (
    REPLAY_WINDOW_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verified_webhook_body,
    verify_signature,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "REPLAY_WINDOW_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "CurrentPrincipal",
    "DirectoryAdmin",
    "Principal",
    "ProgramAdmin",
    "Role",
    "Sponsor",
    "TokenVerifier",
    "bearer_token",
    "claim_at",
    "current_principal",
    "parse_roles",
    "require_role",
    "sign",
    "token_verifier",
    "verified_webhook_body",
    "verify_signature",
]
