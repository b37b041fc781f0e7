"""Cursors this service did not give out and numbers out of range: a 400 or 422 problem, never a
database filter built from the caller's JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from roundtable_dev.testing.reporting.history import OTHER_PROGRAM, PROGRAM, SPONSOR, History
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.http.pagination import AfterId, CursorSigner

OVERFLOW = 2**64


def unsigned(position: dict[str, Any]) -> str:
    """A cursor as this service used to give out (base64 JSON, unsigned): now a forgery."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


async def test_only_cursors_this_listing_gave_out_open_it(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = History()
    h.program(PROGRAM, [SPONSOR])
    h.program(OTHER_PROGRAM, ["e-other-sponsor"])
    await w.publish_all(h.events)
    await w.settle()
    admin = w.headers("e-admin", ["program_admin"])
    first = (await client.get("/v1/programs?limit=1", headers=admin)).json()
    cursor = first["next_cursor"]
    second = await client.get(f"/v1/programs?limit=1&cursor={cursor}", headers=admin)
    assert second.status_code == 200, second.text
    assert [p["program_id"] for p in second.json()["items"]] == [max(PROGRAM, OTHER_PROGRAM)]

    _, _, mac = cursor.partition(".")
    forged = {
        # the operator used to reach the filter: every program after "" answered 200
        "operator": unsigned({"after": {"$gt": ""}}),
        "unsigned": unsigned({"after": ""}),
        "tampered": f"{unsigned({'after': ''})}.{mac}",
        "signature only": mac,
        "another service": CursorSigner(b"enrollment's own key", "enrollment").seal(
            "/v1/programs", AfterId(after="a")
        ),
    }
    for case, bad in forged.items():
        response = await client.get(f"/v1/programs?cursor={bad}", headers=admin)
        assert response.status_code == 400, (case, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    limit = await client.get(f"/v1/programs?limit={OVERFLOW}", headers=admin)
    assert limit.status_code == 422
    week = await client.get(f"/v1/programs/{PROGRAM}/timeseries?from={OVERFLOW}-W01", headers=admin)
    assert week.status_code == 422, week.text
