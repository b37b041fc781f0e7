"""Bearer tokens verified against a JWKS served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import stat
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from roundtable_dev.local.dev_issuer import DevIssuer, jwk_thumbprint, token_command
from roundtable_dev.testing.http import listening_socket, serve_in_thread
from roundtable_shared.auth import (
    CurrentPrincipal,
    Principal,
    Role,
    Sponsor,
    TokenVerifier,
    require_role,
)
from roundtable_shared.http.problems import PROBLEM_JSON, Problem, ServiceUnavailable, Unauthorized

ISSUER = "https://issuer.test"
AUDIENCE = "roundtable"
LEEWAY = 30


# --- a real HTTP server on 127.0.0.1 ------------------------------------------------------------


def _base_url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class JwksServer:
    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0

    @property
    def jwks_url(self) -> str:
        return self.url + "/jwks.json"


def _jwks_app(state: JwksServer) -> FastAPI:
    app = FastAPI()

    @app.get("/jwks.json")
    async def jwks() -> dict[str, Any]:
        state.hits += 1
        return {"keys": state.keys}

    @app.get("/broken.json")
    async def broken() -> PlainTextResponse:
        return PlainTextResponse("<html>proxy error</html>")

    @app.get("/slow.json")
    async def slow() -> dict[str, Any]:
        time.sleep(0.3)  # blocks this server's loop only, not the test's
        return {"keys": state.keys}

    return app


# --- keys and tokens ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_issuer(tmp_path_factory: pytest.TempPathFactory) -> DevIssuer:
    return DevIssuer(tmp_path_factory.mktemp("data"), ISSUER, AUDIENCE)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def jwks_server(
    dev_issuer: DevIssuer, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> Iterator[JwksServer]:
    rsa_jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    ec_jwk = ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
    state = JwksServer(
        keys=[
            *dev_issuer.jwks()["keys"],
            {**rsa_jwk, "kid": "rsa-test", "use": "sig"},
            {**ec_jwk, "kid": "es-test", "use": "sig"},
        ]
    )
    sock = listening_socket()
    with serve_in_thread(_jwks_app(state), sock) as url:
        state.url = url
        yield state


@pytest.fixture
def jwks(jwks_server: JwksServer) -> JwksServer:
    jwks_server.hits = 0
    return jwks_server


def _verifier(jwks_url: str, **options: Any) -> TokenVerifier:
    settings: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks_url": jwks_url,
        "leeway_seconds": LEEWAY,
    }
    return TokenVerifier(**{**settings, **options})


@pytest.fixture
def verifier(jwks: JwksServer) -> TokenVerifier:
    return _verifier(jwks.jwks_url)


def _claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims; an override of None removes that claim."""
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "emp-1", "iat": now}
    claims.update(exp=now + 300, roles=["participant"])
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_parts(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


async def _rejection(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        await verifier.verify(token)
    return caught.value.detail


# --- verification -------------------------------------------------------------------------------


async def test_dev_issuer_rs256_token_is_accepted(
    verifier: TokenVerifier, dev_issuer: DevIssuer
) -> None:
    token = dev_issuer.mint("emp-42", [Role.PROGRAM_ADMIN, Role.PARTICIPANT])
    principal = await verifier.verify(token)
    assert principal.employee_id == "emp-42"
    assert principal.roles == {"participant", "program_admin"}
    assert principal.has_role(Role.PROGRAM_ADMIN) and not principal.has_role(Role.SPONSOR)
    assert principal.claims["iss"] == ISSUER


async def test_es256_token_from_second_jwks_key_is_accepted(
    verifier: TokenVerifier, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(_claims(roles=["sponsor"]), ec_key, "ES256", headers={"kid": "es-test"})
    principal = await verifier.verify(token)
    assert principal.roles == {"sponsor", "participant"}


async def test_keys_are_fetched_once_then_served_from_cache(
    verifier: TokenVerifier, dev_issuer: DevIssuer, jwks: JwksServer
) -> None:
    for _ in range(3):
        await verifier.verify(dev_issuer.mint("emp-1", ["participant"]))
    assert jwks.hits == 1


async def test_prefetch_loads_the_keys_before_the_first_request(
    verifier: TokenVerifier, dev_issuer: DevIssuer, jwks: JwksServer
) -> None:
    await verifier.prefetch()
    assert jwks.hits == 1
    await verifier.verify(dev_issuer.mint("emp-1", ["participant"]))
    assert jwks.hits == 1


async def test_jwks_fetch_runs_off_the_event_loop_thread(
    verifier: TokenVerifier, dev_issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetching_threads: list[int] = []
    original = jwt.PyJWKClient.fetch_data

    def recording_fetch(client: jwt.PyJWKClient) -> Any:
        fetching_threads.append(threading.get_ident())
        return original(client)

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", recording_fetch)
    await verifier.verify(dev_issuer.mint("emp-1", ["participant"]))
    assert fetching_threads and threading.get_ident() not in fetching_threads


async def test_expired_token_is_rejected(verifier: TokenVerifier, dev_issuer: DevIssuer) -> None:
    token = dev_issuer.mint("emp-1", ["participant"], ttl_seconds=-(LEEWAY + 30))
    assert "expired" in await _rejection(verifier, token)


async def test_token_expired_within_leeway_is_accepted(
    verifier: TokenVerifier, dev_issuer: DevIssuer
) -> None:
    token = dev_issuer.mint("emp-1", ["participant"], ttl_seconds=-(LEEWAY - 20))
    assert (await verifier.verify(token)).employee_id == "emp-1"


async def test_a_verified_token_is_not_checked_again_until_it_expires(
    verifier: TokenVerifier, dev_issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # within the leeway for two more seconds: accepted, then refused although accepted before
    token = dev_issuer.mint("emp-1", ["participant"], ttl_seconds=-(LEEWAY - 2))
    decoded: list[str] = []
    decode = jwt.decode

    def counting_decode(jwt_: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(jwt_)
        return decode(jwt_, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    assert decoded == [token]
    await asyncio.sleep(2.5)
    assert "expired" in await _rejection(verifier, token)
    assert decoded == [token, token]


async def test_token_not_yet_valid_beyond_leeway_is_rejected(
    verifier: TokenVerifier, dev_issuer: DevIssuer
) -> None:
    token = dev_issuer.mint("emp-1", ["participant"], extra_claims={"nbf": time.time() + 120})
    assert "not valid yet" in await _rejection(verifier, token)


async def test_token_not_yet_valid_within_leeway_is_accepted(
    verifier: TokenVerifier, dev_issuer: DevIssuer
) -> None:
    token = dev_issuer.mint("emp-1", ["participant"], extra_claims={"nbf": time.time() + 10})
    assert (await verifier.verify(token)).employee_id == "emp-1"


async def test_wrong_audience_is_rejected(verifier: TokenVerifier, dev_issuer: DevIssuer) -> None:
    token = dev_issuer.mint("emp-1", ["participant"], extra_claims={"aud": "payroll"})
    assert "audience" in await _rejection(verifier, token)


async def test_wrong_issuer_is_rejected(verifier: TokenVerifier, dev_issuer: DevIssuer) -> None:
    token = dev_issuer.mint("emp-1", ["participant"], extra_claims={"iss": "https://evil.test"})
    assert "issuer" in await _rejection(verifier, token)


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub"])
async def test_token_without_a_required_claim_is_rejected(
    verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey, claim: str
) -> None:
    token = jwt.encode(_claims(**{claim: None}), rsa_key, "RS256", headers={"kid": "rsa-test"})
    assert f"'{claim}'" in await _rejection(verifier, token)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_rejected_without_fetching_keys(
    verifier: TokenVerifier, dev_issuer: DevIssuer, jwks: JwksServer, alg: str
) -> None:
    token = _unsigned_parts({"alg": alg, "typ": "JWT", "kid": dev_issuer.kid}, _claims()) + "."
    assert "algorithm" in await _rejection(verifier, token)
    assert jwks.hits == 0


async def test_hs256_signed_with_the_public_key_is_rejected(
    verifier: TokenVerifier, dev_issuer: DevIssuer, jwks: JwksServer
) -> None:
    # The classic key-confusion attack: the public key, known to all, used as an HMAC secret.
    public_key = RSAAlgorithm.from_jwk(dev_issuer.jwks()["keys"][0])
    assert isinstance(public_key, rsa.RSAPublicKey)
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned_parts(
        {"alg": "HS256", "typ": "JWT", "kid": dev_issuer.kid}, _claims()
    )
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert "algorithm" in await _rejection(verifier, f"{signing_input}.{_b64(signature)}")
    assert jwks.hits == 0


async def test_es256_header_on_an_rsa_kid_is_rejected(
    verifier: TokenVerifier, dev_issuer: DevIssuer, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(_claims(), ec_key, "ES256", headers={"kid": dev_issuer.kid})
    assert "algorithm" in await _rejection(verifier, token)


async def test_token_signed_by_another_key_under_a_known_kid_is_rejected(
    verifier: TokenVerifier, dev_issuer: DevIssuer
) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), impostor, "RS256", headers={"kid": dev_issuer.kid})
    assert "signature" in await _rejection(verifier, token)


async def test_unknown_kid_is_rejected(verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    token = jwt.encode(_claims(), rsa_key, "RS256", headers={"kid": "retired-key"})
    assert "kid" in await _rejection(verifier, token)


async def test_token_without_kid_is_rejected(
    verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = jwt.encode(_claims(), rsa_key, "RS256")
    assert "kid" in await _rejection(verifier, token)


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "e30.e30.", "....", "ü.ü.ü"])
async def test_garbage_is_rejected(verifier: TokenVerifier, garbage: str) -> None:
    assert await _rejection(verifier, garbage)


async def test_roles_from_a_dotted_claim_path(jwks: JwksServer, rsa_key: rsa.RSAPrivateKey) -> None:
    verifier = _verifier(jwks.jwks_url, roles_claim="realm_access.roles")
    claims = _claims(roles=None, realm_access={"roles": ["program_admin", "offline_access"]})
    token = jwt.encode(claims, rsa_key, "RS256", headers={"kid": "rsa-test"})
    principal = await verifier.verify(token)
    assert principal.roles == {"participant", "program_admin", "offline_access"}


async def test_roles_from_a_space_separated_string(
    verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = jwt.encode(
        _claims(roles="participant  sponsor"), rsa_key, "RS256", headers={"kid": "rsa-test"}
    )
    assert (await verifier.verify(token)).roles == {"participant", "sponsor"}


async def test_missing_roles_claim_means_participant_only(
    verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    # Any employee the IdP vouches for takes part; other roles must be granted.
    token = jwt.encode(_claims(roles=None), rsa_key, "RS256", headers={"kid": "rsa-test"})
    assert (await verifier.verify(token)).roles == {"participant"}


@pytest.mark.parametrize("roles", [7, {"admin": True}, ["sponsor", 1]])
async def test_malformed_roles_claim_is_rejected(
    verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey, roles: Any
) -> None:
    token = jwt.encode(_claims(roles=roles), rsa_key, "RS256", headers={"kid": "rsa-test"})
    assert "'roles'" in await _rejection(verifier, token)


async def test_employee_id_from_a_configured_claim(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = _verifier(jwks.jwks_url, employee_claim="ext.employee_number")
    claims = _claims(sub="f81d4fae", ext={"employee_number": "E-1007"})
    token = jwt.encode(claims, rsa_key, "RS256", headers={"kid": "rsa-test"})
    assert (await verifier.verify(token)).employee_id == "E-1007"
    claims = _claims(sub="f81d4fae")
    token = jwt.encode(claims, rsa_key, "RS256", headers={"kid": "rsa-test"})
    assert "employee id" in await _rejection(verifier, token)


async def test_unreachable_jwks_is_503_not_401(dev_issuer: DevIssuer) -> None:
    sock = listening_socket()
    url = _base_url(sock) + "/jwks.json"
    sock.close()  # nothing listens there any more: connection refused
    with pytest.raises(ServiceUnavailable):
        await _verifier(url).verify(dev_issuer.mint("emp-1", ["participant"]))


@pytest.mark.parametrize("path", ["/broken.json", "/missing.json"])
async def test_jwks_endpoint_answering_garbage_is_503(
    jwks: JwksServer, dev_issuer: DevIssuer, path: str
) -> None:
    with pytest.raises(ServiceUnavailable):
        await _verifier(jwks.url + path).verify(dev_issuer.mint("emp-1", ["participant"]))


async def test_slow_jwks_fetch_does_not_block_the_event_loop(
    jwks: JwksServer, dev_issuer: DevIssuer
) -> None:
    import anyio

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    verifier = _verifier(jwks.url + "/slow.json")
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        await verifier.verify(dev_issuer.mint("emp-1", ["participant"]))
        group.cancel_scope.cancel()
    assert ticks >= 10  # the 0.3 s fetch would allow none if it ran on the loop


def test_principal_repr_hides_claims() -> None:
    principal = Principal("emp-1", frozenset({"participant"}), {"email": "ada@example.com"})
    assert "ada@example.com" not in repr(principal)
    assert principal == Principal("emp-1", frozenset({"participant"}), {})


# --- FastAPI dependencies -----------------------------------------------------------------------


def _api(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = verifier

    # Stand-in for the app factory's handler, which renders every Problem as problem+json.
    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return JSONResponse(
            exc.body(), status_code=exc.status, headers=exc.headers, media_type=PROBLEM_JSON
        )

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"employee_id": principal.employee_id, "roles": sorted(principal.roles)}

    @app.get("/admin", dependencies=[Depends(require_role(Role.PROGRAM_ADMIN))])
    async def admin() -> dict[str, str]:
        return {"ok": "admin"}

    @app.get("/report")
    async def report(principal: Sponsor) -> dict[str, str]:
        return {"sponsor": principal.employee_id}

    return app


@pytest.fixture
async def client(verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_api(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://roundtable.test") as http:
        yield http


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Basic ZW1wOnB3"}, {"Authorization": "Bearer"}],
)
async def test_missing_or_malformed_bearer_is_401_problem(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert "Authorization" in response.json()["detail"]


async def test_invalid_token_is_401_with_reason(
    client: httpx.AsyncClient, dev_issuer: DevIssuer
) -> None:
    expired = dev_issuer.mint("emp-1", ["program_admin"], ttl_seconds=-3600)
    response = await client.get("/admin", headers=_bearer(expired))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "expired" in response.json()["detail"]


async def test_valid_token_reaches_the_endpoint(
    client: httpx.AsyncClient, dev_issuer: DevIssuer
) -> None:
    response = await client.get("/me", headers=_bearer(dev_issuer.mint("emp-7", ["sponsor"])))
    assert response.status_code == 200
    assert response.json() == {"employee_id": "emp-7", "roles": ["participant", "sponsor"]}


_NEEDED = {"/admin": "program_admin", "/report": "sponsor"}


@pytest.mark.parametrize(
    ("path", "roles", "status"),
    [
        ("/admin", ["participant"], 403),
        ("/admin", ["sponsor"], 403),
        ("/admin", ["participant", "program_admin"], 200),
        ("/report", ["program_admin"], 403),
        ("/report", ["sponsor"], 200),
    ],
)
async def test_require_role(
    client: httpx.AsyncClient, dev_issuer: DevIssuer, path: str, roles: list[str], status: int
) -> None:
    response = await client.get(path, headers=_bearer(dev_issuer.mint("emp-1", roles)))
    assert response.status_code == status
    if status == 403:
        assert response.headers["Content-Type"] == PROBLEM_JSON
        assert _NEEDED[path] in response.json()["detail"]


def test_require_role_needs_a_role() -> None:
    with pytest.raises(ValueError):
        require_role()


# --- the development issuer ---------------------------------------------------------------------


def test_dev_key_is_created_lazily_with_mode_0600(tmp_path: Path) -> None:
    issuer = DevIssuer(tmp_path, ISSUER)
    key_file = tmp_path / "dev-issuer" / "signing-key.pem"
    assert not key_file.exists()
    issuer.jwks()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["signing-key.pem"]  # no temp left


def test_dev_key_is_reused_across_instances(tmp_path: Path) -> None:
    first = DevIssuer(tmp_path, ISSUER).jwks()
    assert DevIssuer(tmp_path, ISSUER).jwks() == first
    assert DevIssuer(tmp_path / "elsewhere", ISSUER).jwks() != first


def test_jwks_kid_is_the_rfc7638_thumbprint(dev_issuer: DevIssuer) -> None:
    # The example of RFC 7638 section 3.1.
    rfc_key = {
        "kty": "RSA",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6t"
        "Soc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YG"
        "jQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt"
        "-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    }
    assert jwk_thumbprint(rfc_key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    [published] = dev_issuer.jwks()["keys"]
    assert published["kid"] == jwk_thumbprint(published)
    assert (published["kty"], published["alg"], published["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in published  # public half only


def test_mint_sets_the_standard_claims(dev_issuer: DevIssuer) -> None:
    token = dev_issuer.mint("emp-3", ["sponsor", "participant"], ttl_seconds=600)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256" and header["kid"] == dev_issuer.kid
    assert (claims["iss"], claims["aud"], claims["sub"]) == (ISSUER, AUDIENCE, "emp-3")
    assert claims["roles"] == ["participant", "sponsor"]
    assert claims["exp"] - claims["iat"] == 600 and claims["nbf"] == claims["iat"]


def test_mint_refuses_a_bare_string_of_roles(dev_issuer: DevIssuer) -> None:
    with pytest.raises(TypeError):
        dev_issuer.mint("emp-1", "participant,sponsor")


@dataclass
class DevServer:
    issuer: DevIssuer
    url: str
    data_dir: Path


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    data_dir = tmp_path_factory.mktemp("dev-server")
    sock = listening_socket()
    issuer = DevIssuer(data_dir, _base_url(sock))
    with serve_in_thread(issuer.jwks_app(), sock) as url:
        yield DevServer(issuer, url, data_dir)


async def _discovered_verifier(dev_server: DevServer) -> TokenVerifier:
    async with httpx.AsyncClient(base_url=dev_server.url) as http:
        response = await http.get("/.well-known/openid-configuration")
    response.raise_for_status()
    configuration = response.json()
    assert configuration["issuer"] == dev_server.url
    return _verifier(configuration["jwks_uri"], issuer=configuration["issuer"])


async def test_mint_then_verify_through_the_served_jwks(dev_server: DevServer) -> None:
    verifier = await _discovered_verifier(dev_server)
    principal = await verifier.verify(dev_server.issuer.mint("emp-9", ["program_admin"]))
    assert (principal.employee_id, principal.roles) == (
        "emp-9",
        frozenset({"participant", "program_admin"}),
    )


async def test_served_jwks_is_the_issuers(dev_server: DevServer) -> None:
    async with httpx.AsyncClient(base_url=dev_server.url) as http:
        response = await http.get("/.well-known/jwks.json")
    assert response.json() == dev_server.issuer.jwks()


async def test_token_command_prints_a_verifiable_token(
    dev_server: DevServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = token_command(
        [
            "--employee=emp-5",
            "--roles=participant,sponsor",
            "--ttl=60",
            f"--data-dir={dev_server.data_dir}",
            f"--issuer={dev_server.url}",
        ]
    )
    token = capsys.readouterr().out.strip()
    assert code == 0
    principal = await (await _discovered_verifier(dev_server)).verify(token)
    assert principal.employee_id == "emp-5"
    assert principal.roles == {"participant", "sponsor"}
    assert principal.claims["exp"] - principal.claims["iat"] == 60


def test_token_command_reads_its_defaults_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROUNDTABLE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ROUNDTABLE_DEV_ISSUER", "http://127.0.0.1:9999")
    assert token_command(["--employee", "emp-1", "--roles", "participant"]) == 0
    token = capsys.readouterr().out.strip()
    assert jwt.get_unverified_header(token)["kid"] == DevIssuer(tmp_path, "x").kid
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == "http://127.0.0.1:9999"


@pytest.mark.parametrize(
    "args",
    [
        ["--employee", "emp-1", "--roles", "participant,superuser"],
        ["--employee", "emp-1", "--roles", "participant", "--ttl", "0"],
        ["--roles", "participant"],
    ],
)
def test_token_command_rejects_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert token_command([*args, "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().out == ""
    assert not os.listdir(tmp_path)  # no key written for a refused command


async def test_roles_claim_named_with_a_url_is_not_split_at_its_dots(
    jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    claim = "https://roundtable.example/roles"
    verifier = _verifier(jwks.jwks_url, roles_claim=claim)
    token = jwt.encode(
        _claims(**{claim: ["sponsor"]}), rsa_key, "RS256", headers={"kid": "rsa-test"}
    )
    assert (await verifier.verify(token)).roles == {"sponsor", "participant"}
