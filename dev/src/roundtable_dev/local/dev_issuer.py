"""The local development token issuer: one RSA key, a JWKS endpoint and ``roundtable token``.

For ``make run`` and tests only; production verifies tokens of the company's IdP. The key lives
in ``<data_dir>/dev-issuer/signing-key.pem`` so tokens stay valid across restarts.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from jwt.algorithms import RSAAlgorithm

from roundtable_shared.auth.tokens import Role

DEFAULT_TTL_SECONDS = 8 * 3600
KEY_FILE = Path("dev-issuer") / "signing-key.pem"
# Matches the verifier's JWKS cache lifespan: clients need not ask more often.
_JWKS_CACHE_CONTROL = "public, max-age=300"


class DevIssuer:
    def __init__(self, data_dir: Path, issuer_url: str, audience: str = "roundtable") -> None:
        self.key_path = Path(data_dir) / KEY_FILE
        # Kept verbatim: `iss` must equal the services' configured jwt_issuer character for
        # character, trailing slash included.
        self.issuer_url = issuer_url
        self.audience = audience

    @property
    def jwks_uri(self) -> str:
        return self.issuer_url.rstrip("/") + "/.well-known/jwks.json"

    @cached_property
    def _private_key(self) -> rsa.RSAPrivateKey:
        # Lazy, so constructing an issuer (e.g. to print its URL) writes nothing to disk.
        return load_or_create_key(self.key_path)

    @cached_property
    def _public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._private_key.public_key(), as_dict=True)
        return {**jwk, "kid": jwk_thumbprint(jwk), "use": "sig", "alg": "RS256"}

    @property
    def kid(self) -> str:
        return str(self._public_jwk["kid"])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._public_jwk)]}

    def mint(
        self,
        employee_id: str,
        roles: Iterable[str],
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed RS256 token; ``extra_claims`` are applied last, so tests can override any."""
        if isinstance(roles, str):
            # A bare "participant,sponsor" would otherwise become one role per character.
            raise TypeError("roles must be an iterable of role names, not a string")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer_url,
            "aud": self.audience,
            "sub": employee_id,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "roles": sorted(set(roles)),
        }
        claims.update(extra_claims or {})
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.kid})

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer_url,
            "jwks_uri": self.jwks_uri,
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwks_app(self) -> FastAPI:
        """Serves ``/.well-known/jwks.json`` and ``/.well-known/openid-configuration``."""
        app = FastAPI(title="Roundtable development issuer", docs_url=None, redoc_url=None)
        # Computed now: the key is created at startup, not inside the first request.
        jwks, configuration = self.jwks(), self.openid_configuration()
        headers = {"Cache-Control": _JWKS_CACHE_CONTROL}

        @app.get("/.well-known/jwks.json")
        async def get_jwks() -> JSONResponse:
            return JSONResponse(jwks, headers=headers)

        @app.get("/.well-known/openid-configuration")
        async def get_openid_configuration() -> JSONResponse:
            return JSONResponse(configuration, headers=headers)

        return app


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        _create_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def _create_key(path: Path) -> None:
    """Write a fresh key so that no reader ever sees a partial file, even when racing.

    Several services may start at once: each writes a complete temporary file (mkstemp makes it
    0600) and hard-links it into place; link fails if the name exists, so the first one wins.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        # Losing the race is fine: the winner's key is the one everybody loads.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of an RSA or EC public JWK."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_command(args: Sequence[str]) -> int:
    """``roundtable token``: print a development token for the given employee and roles."""
    try:
        options = _token_parser().parse_args(list(args))
    except SystemExit as exc:  # argparse exits on --help and on errors; report it as a code
        return exc.code if isinstance(exc.code, int) else 2
    issuer = DevIssuer(Path(options.data_dir), options.issuer, options.audience)
    print(issuer.mint(options.employee, options.roles, ttl_seconds=options.ttl))
    return 0


def _token_parser() -> argparse.ArgumentParser:
    # Built per call so the environment defaults are read when the command runs.
    parser = argparse.ArgumentParser(
        prog="roundtable token", description="Mint a token of the local development issuer."
    )
    parser.add_argument("--employee", required=True, help="employee id (the `sub` claim)")
    parser.add_argument(
        "--roles",
        required=True,
        type=_roles_argument,
        help="comma-separated: " + ",".join(Role),
    )
    parser.add_argument("--ttl", type=_positive_int, default=DEFAULT_TTL_SECONDS, help="seconds")
    parser.add_argument("--data-dir", default=os.environ.get("ROUNDTABLE_DATA_DIR", ".data"))
    parser.add_argument(
        "--issuer", default=os.environ.get("ROUNDTABLE_DEV_ISSUER", "http://127.0.0.1:8000")
    )
    parser.add_argument("--audience", default="roundtable")
    return parser


def _roles_argument(value: str) -> list[str]:
    roles = [role.strip() for role in value.split(",") if role.strip()]
    unknown = sorted(set(roles) - set(Role))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(Role)}"
        )
    return roles


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return number


if __name__ == "__main__":
    sys.exit(token_command(sys.argv[1:]))
