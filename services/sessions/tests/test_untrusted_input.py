"""Numbers out of range and cursors this service did not give out: a problem, never a 500 or a
database filter built from the caller's JSON."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from roundtable_dev.testing.sessions import World, assert_problem

OVERFLOW = 2**64  # above BSON's 64-bit integers


def unsigned(position: dict[str, Any]) -> str:
    """A cursor as this service used to give out (base64 JSON, unsigned): now a forgery."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def tampered(cursor: str) -> str:
    """The same cursor with its position changed and its signature kept."""
    body, _, mac = cursor.partition(".")
    padded = body + "=" * (-len(body) % 4)
    position = json.loads(base64.urlsafe_b64decode(padded))
    position["id"] = "0"  # an id that sorts before every other: the page would start over
    return f"{unsigned(position)}.{mac}"


async def test_numbers_out_of_range_are_refused(group_world: World) -> None:
    w = group_world
    starts = (w.clock.now + timedelta(days=2)).isoformat()
    for body in (
        {"starts_at": starts, "time_zone": "UTC", "duration_minutes": OVERFLOW},
        {"starts_at": starts, "time_zone": "UTC", "duration_minutes": 999_999_999_999},
    ):
        assert_problem(
            await w.client.post("/v1/groups/g-1/sessions", json=body, headers=w.auth("e-1")), 422
        )
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    for body in ({"rating": OVERFLOW}, {"rating": 5, "recommend_score": OVERFLOW}):
        assert_problem(
            await w.client.post(
                f"/v1/sessions/{session['id']}/feedback", json=body, headers=w.auth("e-2")
            ),
            422,
        )
    # an ETag beyond 64 bits reached the version filter and was a 500
    assert_problem(
        await w.client.patch(
            f"/v1/sessions/{session['id']}",
            json={"location": "Room 1"},
            headers={**w.auth("e-1"), "If-Match": f'"{OVERFLOW}"'},
        ),
        400,
    )
    assert_problem(
        await w.client.get(f"/v1/groups/g-1/sessions?limit={OVERFLOW}", headers=w.auth("e-1")), 422
    )


async def test_only_the_cursors_of_a_listing_open_it(group_world: World) -> None:
    w = group_world
    for days in (1, 2, 3):
        await w.schedule("g-1", "e-1", in_days=days)
    sessions_page = await w.client.get("/v1/groups/g-1/sessions?limit=1", headers=w.auth("e-1"))
    cursor = sessions_page.json()["next_cursor"]
    second = await w.client.get(
        f"/v1/groups/g-1/sessions?limit=1&cursor={cursor}", headers=w.auth("e-1")
    )
    assert second.status_code == 200, second.text
    assert second.json()["items"][0]["id"] != sessions_page.json()["items"][0]["id"]

    a_position = {"k": "2020-01-01T00:00:00+00:00", "id": "s-1"}
    forged = [
        unsigned({"k": {"$gt": ""}, "id": {"$ne": None}}),  # operators
        unsigned(a_position),  # well-typed, but not signed
        tampered(cursor),
        cursor + "x",
    ]
    for bad in forged:
        assert_problem(
            await w.client.get(f"/v1/groups/g-1/sessions?cursor={bad}", headers=w.auth("e-1")),
            400,
        )
    # another listing's cursor, of the same shape: not this listing's
    assert_problem(
        await w.client.get(f"/v1/groups/g-2/sessions?cursor={cursor}", headers=w.auth("e-9")), 400
    )
    assert_problem(
        await w.client.get(f"/v1/me/action-steps?cursor={cursor}", headers=w.auth("e-1")), 400
    )
