"""FastAPI dependencies: who is calling (401) and may they (403).

Use ``principal: CurrentPrincipal`` as an endpoint parameter, or
``dependencies=[Depends(require_role(Role.PROGRAM_ADMIN))]`` on a route.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from roundtable_shared.auth.tokens import Principal, Role, TokenVerifier
from roundtable_shared.http.problems import Forbidden, Unauthorized

# Registered only so OpenAPI documents the bearer scheme; auto_error=False because the
# 401 must be our problem+json with a precise reason, not FastAPI's generic HTTPException.
_bearer_scheme = HTTPBearer(auto_error=False, description="JWT from the identity provider.")


def token_verifier(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        # A wiring bug, not bad input: fail loudly rather than let requests through.
        raise RuntimeError("app.state.token_verifier is not set to a TokenVerifier")
    return verifier


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; ``Unauthorized`` otherwise."""
    if not authorization or not authorization.strip():
        raise Unauthorized("The request has no Authorization header; send 'Bearer <token>'.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        raise Unauthorized("The Authorization header must use the Bearer scheme.")
    if not token or len(token.split(maxsplit=1)) > 1:  # whitespace inside
        raise Unauthorized("The Authorization header must be 'Bearer <token>' with one token.")
    return token


async def current_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)],
) -> Principal:
    token = bearer_token(request.headers.get("Authorization"))
    return await token_verifier(request).verify(token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(
    *roles: Role | str,
) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency giving the principal when it holds at least one of ``roles``, else 403."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    wanted = frozenset(str(role) for role in roles)
    listed = ", ".join(sorted(wanted))

    # async on purpose: FastAPI would run a sync dependency in the thread pool for no gain.
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(*wanted):
            raise Forbidden(f"This action requires one of the roles: {listed}.")
        return principal

    return dependency


ProgramAdmin = Annotated[Principal, Depends(require_role(Role.PROGRAM_ADMIN))]
Sponsor = Annotated[Principal, Depends(require_role(Role.SPONSOR))]
DirectoryAdmin = Annotated[Principal, Depends(require_role(Role.DIRECTORY_ADMIN))]
