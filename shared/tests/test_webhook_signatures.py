"""HMAC-SHA256 signatures of HR webhooks: the pure check and the FastAPI dependency."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from roundtable_shared.auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verified_webhook_body,
    verify_signature,
)
from roundtable_shared.http.problems import PROBLEM_JSON, Problem, Unauthorized

SECRET = "whsec-current"
NOW = 1_735_689_600
BODY = b'{"id":"evt-1","type":"employee.hired","data":{"employee_id":"E-1"}}'


def _rejection(
    secrets: Any, headers: dict[str, str], body: bytes = BODY, now: float = NOW, **options: Any
) -> str:
    with pytest.raises(Unauthorized) as caught:
        verify_signature(
            secrets,
            headers.get(TIMESTAMP_HEADER),
            headers.get(SIGNATURE_HEADER),
            body,
            now,
            **options,
        )
    return caught.value.detail


def _accepts(secrets: Any, headers: dict[str, str], now: float = NOW, **options: Any) -> None:
    verify_signature(
        secrets, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, now, **options
    )


def test_wire_format_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # Pinned independently of sign(): this is the contract with the HR system and its simulator.
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == {
        TIMESTAMP_HEADER: str(NOW),
        SIGNATURE_HEADER: f"sha256={expected}",
    }


def test_good_signature_is_accepted() -> None:
    _accepts(SECRET, sign(SECRET, BODY, NOW))


def test_str_and_bytes_secrets_are_the_same_key() -> None:
    _accepts(SECRET.encode(), sign(SECRET, BODY, NOW))
    _accepts(SECRET, sign(SECRET.encode(), BODY, NOW))


def test_uppercase_hex_is_accepted() -> None:
    headers = sign(SECRET, BODY, NOW)
    headers[SIGNATURE_HEADER] = (
        "sha256=" + headers[SIGNATURE_HEADER].removeprefix("sha256=").upper()
    )
    _accepts(SECRET, headers)


def test_wrong_secret_is_rejected() -> None:
    assert "signature" in _rejection(SECRET, sign("whsec-other", BODY, NOW))


def test_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b"E-1", b"E-2")
    assert "signature" in _rejection(SECRET, sign(SECRET, BODY, NOW), body=tampered)


def test_timestamp_is_covered_by_the_signature() -> None:
    # Moving an old, captured request into the window must not keep its signature valid.
    headers = sign(SECRET, BODY, NOW - 3600)
    headers[TIMESTAMP_HEADER] = str(NOW)
    assert "signature" in _rejection(SECRET, headers)


def test_six_minute_old_timestamp_is_rejected() -> None:
    assert "older" in _rejection(SECRET, sign(SECRET, BODY, NOW - 360))


def test_timestamp_inside_the_window_is_accepted() -> None:
    _accepts(SECRET, sign(SECRET, BODY, NOW - 299))
    _accepts(SECRET, sign(SECRET, BODY, NOW + 299))


def test_future_timestamp_beyond_the_window_is_rejected() -> None:
    assert "future" in _rejection(SECRET, sign(SECRET, BODY, NOW + 360))


def test_window_is_configurable() -> None:
    headers = sign(SECRET, BODY, NOW - 120)
    _accepts(SECRET, headers)
    assert "older" in _rejection(SECRET, headers, window_seconds=60)


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_missing_header_is_rejected(missing: str) -> None:
    headers = sign(SECRET, BODY, NOW)
    del headers[missing]
    assert missing in _rejection(SECRET, headers)


@pytest.mark.parametrize(
    "timestamp",
    ["", "soon", " 1735689600", "+1735689600", "1735689600.0", "1_735_689_600", "-1", "1e9"],
)
def test_malformed_timestamp_is_rejected(timestamp: str) -> None:
    headers = sign(SECRET, BODY, NOW)
    headers[TIMESTAMP_HEADER] = timestamp
    assert TIMESTAMP_HEADER in _rejection(SECRET, headers)


def _malformed_signatures() -> list[str]:
    digest = sign(SECRET, BODY, NOW)[SIGNATURE_HEADER].removeprefix("sha256=")
    return [
        "",
        "sha256=",
        digest,  # no scheme
        f"sha1={digest}",
        f"sha256={digest[:-1]}",
        f"sha256={digest}00",
        f"sha256={'zz' * 32}",
        f"sha256={digest},sha256={digest}",
    ]


@pytest.mark.parametrize("signature", _malformed_signatures())
def test_malformed_signature_is_rejected(signature: str) -> None:
    headers = sign(SECRET, BODY, NOW)
    headers[SIGNATURE_HEADER] = signature
    assert SIGNATURE_HEADER in _rejection(SECRET, headers)


def test_rotation_accepts_every_listed_secret() -> None:
    secrets = ["whsec-next", SECRET]
    _accepts(secrets, sign(SECRET, BODY, NOW))
    _accepts(secrets, sign("whsec-next", BODY, NOW))
    assert "signature" in _rejection(secrets, sign("whsec-retired", BODY, NOW))


def test_a_single_str_secret_is_not_split_into_characters() -> None:
    assert "signature" in _rejection("ab", sign("a", BODY, NOW))


@pytest.mark.parametrize("secrets", [None, "", b"", [], [SECRET, ""]])
def test_missing_or_empty_secret_is_a_configuration_error(secrets: Any) -> None:
    headers = sign(SECRET, BODY, NOW)
    with pytest.raises(ValueError):
        verify_signature(secrets, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, NOW)


# --- the FastAPI dependency ---------------------------------------------------------------------


# Module level: with postponed annotations FastAPI resolves `Depends(...)` in module globals.
verified_body = verified_webhook_body(
    lambda request: request.app.state.hr_webhook_secrets, clock=lambda: NOW
)


def _app(secrets: Any) -> FastAPI:
    app = FastAPI()
    app.state.hr_webhook_secrets = secrets

    # Stand-in for the app factory's handler, which renders every Problem as problem+json.
    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return JSONResponse(
            exc.body(), status_code=exc.status, headers=exc.headers, media_type=PROBLEM_JSON
        )

    @app.post("/webhooks/hr")
    async def receive(body: Annotated[bytes, Depends(verified_body)]) -> dict[str, str]:
        return {"sha256": hashlib.sha256(body).hexdigest()}

    return app


@pytest.fixture
async def post() -> AsyncIterator[Any]:
    async def send(secrets: Any, headers: dict[str, str], body: bytes = BODY) -> httpx.Response:
        transport = httpx.ASGITransport(app=_app(secrets))
        async with httpx.AsyncClient(transport=transport, base_url="http://hr.test") as http:
            return await http.post("/webhooks/hr", content=body, headers=headers)

    yield send


async def test_dependency_returns_the_raw_body(post: Any) -> None:
    response = await post([SECRET], sign(SECRET, BODY, NOW))
    assert response.status_code == 200
    assert response.json() == {"sha256": hashlib.sha256(BODY).hexdigest()}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, TIMESTAMP_HEADER),
        (sign("whsec-other", BODY, NOW), "signature"),
        (sign(SECRET, BODY, NOW - 360), "older"),
        (sign(SECRET, BODY, NOW + 360), "future"),
    ],
)
async def test_dependency_rejects_with_401_problem(
    post: Any, headers: dict[str, str], reason: str
) -> None:
    response = await post(SECRET, headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert reason in response.json()["detail"]


async def test_dependency_rejects_a_tampered_body(post: Any) -> None:
    response = await post(SECRET, sign(SECRET, BODY, NOW), body=BODY + b" ")
    assert response.status_code == 401


@pytest.mark.parametrize("secrets", [None, "", []])
async def test_dependency_without_a_secret_is_503(post: Any, secrets: Any) -> None:
    response = await post(secrets, sign(SECRET, BODY, NOW))
    assert response.status_code == 503
    assert response.headers["Content-Type"] == PROBLEM_JSON
