"""Pure helpers of the HTTP conventions: cursors, ETags, idempotency keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from pydantic import AwareDatetime

from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint, new_resource_id
from roundtable_shared.http.pagination import AfterId, CursorSigner, Position
from roundtable_shared.http.problems import BadRequest, PreconditionRequired, Unprocessable


class Listed(Position):
    k: AwareDatetime
    id: str


SIGNER = CursorSigner(b"k" * 32, "sessions")


def test_a_cursor_opens_only_where_it_was_given_out() -> None:
    position = Listed(k=datetime(2026, 11, 28, 9, tzinfo=UTC), id="p-17")
    cursor = SIGNER.seal("/v1/groups/g-1/sessions", position)
    assert SIGNER.open("/v1/groups/g-1/sessions", cursor, Listed) == position
    body, _, mac = cursor.partition(".")
    tampered_body = _b64(b'{"k":"2030-01-01T00:00:00Z","id":"p-17"}')
    foreign = {
        "other path": ("/v1/groups/g-2/sessions", cursor),
        "other service": (
            "/v1/groups/g-1/sessions",
            CursorSigner(b"k" * 32, "reminders").seal("/v1/groups/g-1/sessions", position),
        ),
        "other key": (
            "/v1/groups/g-1/sessions",
            CursorSigner(b"x" * 32, "sessions").seal("/v1/groups/g-1/sessions", position),
        ),
        "tampered body": ("/v1/groups/g-1/sessions", f"{tampered_body}.{mac}"),
        "no signature": ("/v1/groups/g-1/sessions", body),
        "not base64": ("/v1/groups/g-1/sessions", "%%%.%%%"),
        "too long": ("/v1/groups/g-1/sessions", cursor + "A" * 2000),
    }
    for case, (scope, forged) in foreign.items():
        with pytest.raises(BadRequest):
            SIGNER.open(scope, forged, Listed)
            pytest.fail(case)


def test_a_signed_cursor_still_holds_exactly_the_expected_fields() -> None:
    """Even a cursor with a valid signature (a key leaked, a release changed a listing's shape)
    yields nothing but the fields and types the listing expects: no operator reaches a filter."""
    for payload in (
        {"after": {"$gt": ""}},
        {"after": 7},
        {"after": "p-1", "extra": 1},
        {},
    ):
        raw = json.dumps(payload).encode()
        mac = hmac.new(b"k" * 32, b"\0".join([b"sessions", b"/v1/programs", raw]), hashlib.sha256)
        forged = f"{_b64(raw)}.{_b64(mac.digest())}"
        with pytest.raises(BadRequest):
            SIGNER.open("/v1/programs", forged, AfterId)
    good = SIGNER.seal("/v1/programs", AfterId(after="p-1"))
    assert SIGNER.open("/v1/programs", good, AfterId) == AfterId(after="p-1")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_if_match_carries_the_version() -> None:
    assert expected_version(etag(7)) == 7
    assert expected_version('W/"12"') == 12
    with pytest.raises(PreconditionRequired):
        expected_version(None)
    with pytest.raises(BadRequest):
        expected_version("seven")


def test_idempotency_key_decides_the_id_per_caller() -> None:
    first = new_resource_id("programs", "e-1", "key-1")
    assert first == new_resource_id("programs", "e-1", "key-1")
    assert first != new_resource_id("programs", "e-2", "key-1")
    assert first != new_resource_id("sessions", "e-1", "key-1")
    assert new_resource_id("programs", "e-1", None) != new_resource_id("programs", "e-1", None)


def test_same_key_with_another_body_is_refused() -> None:
    stored = fingerprint({"name": "Leaders", "capacity": 10})
    ensure_same_request(stored, {"capacity": 10, "name": "Leaders"})  # key order is irrelevant
    with pytest.raises(Unprocessable):
        ensure_same_request(stored, {"name": "Leaders", "capacity": 11})
