"""Pure helpers of the HTTP conventions: cursors, ETags, idempotency keys."""

from __future__ import annotations

import pytest

from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.idempotency import ensure_same_request, fingerprint, new_resource_id
from roundtable_shared.http.pagination import decode_cursor, encode_cursor
from roundtable_shared.http.problems import BadRequest, PreconditionRequired, Unprocessable


def test_cursor_round_trip_and_tampering() -> None:
    position = {"after": "2026-11-28T09:00:00+00:00", "id": "p-17"}
    assert decode_cursor(encode_cursor(position)) == position
    for forged in ("%%%", "bm90IGpzb24", encode_cursor({"a": 1})[:-3] + "!!!"):
        with pytest.raises(BadRequest):
            decode_cursor(forged)


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


def test_a_cursor_field_must_be_what_the_api_gave_out() -> None:
    from roundtable_shared.http.pagination import PageRequest

    assert PageRequest(cursor=None, limit=10).position("after") is None
    assert PageRequest(cursor={"after": "p-17"}, limit=10).position("after") == "p-17"
    for forged in ({"k": "x"}, {"after": {"$gt": ""}}, {"after": 7}):
        with pytest.raises(BadRequest):
            PageRequest(cursor=forged, limit=10).position("after")
