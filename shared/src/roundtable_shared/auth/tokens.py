"""Bearer-token verification: RS256/ES256 JWTs checked against the issuer's JWKS.

Every token problem becomes ``Unauthorized`` (401); only an unreachable or broken JWKS endpoint
becomes ``ServiceUnavailable`` (503), because then the fault is ours, not the caller's.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import anyio.to_thread
import jwt
from cachetools import TLRUCache
from jwt import PyJWK, PyJWKClient
from jwt.exceptions import (
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWKSetError,
    PyJWTError,
)

from roundtable_shared.http.problems import ServiceUnavailable, Unauthorized
from roundtable_shared.settings import ServiceSettings

# Asymmetric algorithms only: accepting HS256 would let anyone holding the *public* key forge
# tokens, and "none" would need no key at all.
ALLOWED_ALGORITHMS: Final[tuple[str, ...]] = ("RS256", "ES256")
REQUIRED_CLAIMS: Final[tuple[str, ...]] = ("exp", "iss", "aud", "sub")
JWKS_LIFESPAN_SECONDS: Final = 300.0
# PyJWKClient's default is 30 s; a hung issuer should not hold requests that long.
JWKS_TIMEOUT_SECONDS: Final = 5.0
# A token verified once is taken at its word for this long (or until it expires): a frontend
# sends the same token with every request, and checking it again cost a fifth of a request's
# CPU. Shorter than the key set's lifespan, so it trusts a withdrawn key no longer than that.
VERIFIED_TOKEN_SECONDS: Final = 60.0
VERIFIED_TOKENS_KEPT: Final = 10_000


class Role(enum.StrEnum):
    PARTICIPANT = "participant"
    PROGRAM_ADMIN = "program_admin"
    SPONSOR = "sponsor"
    DIRECTORY_ADMIN = "directory_admin"
    """Connects identity providers (SCIM connections and their tokens): IT, not the program."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    employee_id: str
    roles: frozenset[str]
    # Claims may carry personal data: kept out of repr so a logged principal does not leak them,
    # and out of eq/hash because a dict is unhashable.
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_any_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


class TokenVerifier:
    """Verifies bearer tokens of one issuer; share one per process, as it caches the keys."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        leeway_seconds: float = 30,
        roles_claim: str = "roles",
        employee_claim: str = "sub",
        jwks_lifespan_seconds: float = JWKS_LIFESPAN_SECONDS,
        jwks_timeout_seconds: float = JWKS_TIMEOUT_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway_seconds = leeway_seconds
        self.roles_claim = roles_claim
        self.employee_claim = employee_claim
        # Only the whole-set cache, which expires after `lifespan`. PyJWKClient's per-kid cache
        # (cache_keys=True) never expires, so a key the issuer withdrew would stay trusted.
        self.jwks_client = PyJWKClient(
            jwks_url,
            cache_keys=False,
            cache_jwk_set=True,
            lifespan=jwks_lifespan_seconds,
            timeout=jwks_timeout_seconds,
        )
        self._verified: TLRUCache[str, Principal] = TLRUCache(
            maxsize=VERIFIED_TOKENS_KEPT, ttu=self._verdict_ends, timer=time.time
        )

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> TokenVerifier:
        return cls(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            jwks_url=settings.jwks_url,
            leeway_seconds=settings.jwt_leeway_seconds,
            roles_claim=settings.roles_claim,
            employee_claim=settings.employee_claim,
        )

    async def prefetch(self) -> None:
        """Load the JWKS now (e.g. at startup) so the first request does not wait for it.

        Raises ``ServiceUnavailable`` when the issuer cannot be reached.
        """
        await anyio.to_thread.run_sync(self._load_key_set)

    async def verify(self, token: str) -> Principal:
        """Return the principal of a valid token; raise ``Unauthorized`` otherwise."""
        principal = self._verified.get(token)
        if principal is not None:
            return principal
        kid = _checked_key_id(token)
        key = self._cached_key(kid)
        if key is None:
            # PyJWKClient fetches with blocking urllib: keep it off the event loop.
            key = await anyio.to_thread.run_sync(self._load_key, kid)
        principal = self._principal(self._decode(token, key))
        self._verified[token] = principal
        return principal

    def _verdict_ends(self, _token: str, principal: Principal, now: float) -> float:
        """When a verified token must be checked again: when ``_decode`` would refuse it as
        expired, or ``VERIFIED_TOKEN_SECONDS`` from now, whichever comes first."""
        expires = float(principal.claims["exp"]) + self.leeway_seconds
        return min(expires, now + VERIFIED_TOKEN_SECONDS)

    def _cached_key(self, kid: str) -> PyJWK | None:
        """The key from the still-fresh JWKS cache, without any I/O (the common, cheap case)."""
        cache = self.jwks_client.jwk_set_cache
        key_set = cache.get() if cache is not None else None
        if key_set is None:
            return None
        return next((key for key in key_set.keys if _is_signing_key(key, kid)), None)

    def _load_key_set(self) -> None:
        """Blocking. Issuer-side failures surface here as 503, before the kid is looked up."""
        try:
            self.jwks_client.get_signing_keys()
        except (PyJWTError, OSError, ValueError) as exc:
            raise ServiceUnavailable(
                "The token issuer's signing keys (JWKS) cannot be fetched or read."
            ) from exc

    def _load_key(self, kid: str) -> PyJWK:
        """Blocking. Refreshes the JWKS once for an unknown kid (PyJWKClient rate-limits that)."""
        self._load_key_set()
        try:
            return self.jwks_client.get_signing_key(kid)
        except (PyJWKClientConnectionError, PyJWKSetError, OSError, ValueError) as exc:
            raise ServiceUnavailable(
                "The token issuer's signing keys (JWKS) cannot be fetched or read."
            ) from exc
        except PyJWKClientError as exc:
            raise Unauthorized(
                "No signing key of the token issuer matches the token's kid."
            ) from exc

    def _decode(self, token: str, key: PyJWK) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except PyJWTError as exc:
            raise _token_error(exc) from exc

    def _principal(self, claims: dict[str, Any]) -> Principal:
        employee_id = claim_at(claims, self.employee_claim)
        if not isinstance(employee_id, str) or not employee_id.strip():
            raise Unauthorized(
                f"The token has no employee id in its '{self.employee_claim}' claim."
            )
        roles = parse_roles(claim_at(claims, self.roles_claim), self.roles_claim)
        # Every employee the company's IdP vouches for may take part; IdPs rarely tag that.
        roles |= {Role.PARTICIPANT.value}
        return Principal(employee_id=employee_id, roles=roles, claims=claims)


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted path (``realm_access.roles``), or None when absent.

    A literal key wins over the dotted walk: some IdPs name claims with URLs that contain dots.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def parse_roles(value: Any, claim: str = "roles") -> frozenset[str]:
    """Roles from a list of strings or a space-separated string (the OAuth ``scope`` style)."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple) and all(isinstance(role, str) for role in value):
        return frozenset(value)
    raise Unauthorized(
        f"The token's '{claim}' claim must be a list of strings or a space-separated string."
    )


def _checked_key_id(token: str) -> str:
    """Reject what can be rejected from the header alone, before any key lookup or fetch."""
    try:
        header = jwt.get_unverified_header(token)
    except PyJWTError as exc:
        raise Unauthorized("The bearer token is not a well-formed JWT.") from exc
    # The header value is attacker-controlled: it is not echoed back.
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise Unauthorized("The token's signing algorithm is not accepted (RS256 or ES256 only).")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("The token header has no key id (kid).")
    return kid


def _is_signing_key(key: PyJWK, kid: str) -> bool:
    # Same filter as PyJWKClient: keys marked for encryption ("use": "enc") never verify tokens.
    return key.key_id == kid and key.public_key_use in ("sig", None)


_TOKEN_ERRORS: Final[tuple[tuple[type[PyJWTError], str], ...]] = (
    (jwt.ExpiredSignatureError, "The token has expired."),
    (jwt.ImmatureSignatureError, "The token is not valid yet (nbf or iat in the future)."),
    (jwt.InvalidAudienceError, "The token was issued for another audience."),
    (jwt.InvalidIssuerError, "The token was issued by an issuer this service does not trust."),
    (jwt.InvalidSignatureError, "The token's signature does not verify."),
    (jwt.InvalidAlgorithmError, "The token's algorithm does not match its signing key."),
)


def _token_error(exc: PyJWTError) -> Unauthorized:
    for kind, detail in _TOKEN_ERRORS:
        if isinstance(exc, kind):
            return Unauthorized(detail)
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return Unauthorized(f"The token lacks the required '{exc.claim}' claim.")
    return Unauthorized(f"The token is invalid: {exc}")
