"""Scheduling, rescheduling, cancelling, listing and calendars, against real NATS and FerretDB."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from roundtable_dev.testing.sessions import World, assert_problem

SCHEDULED = "roundtable.sessions.session.scheduled"


async def test_a_member_schedules_a_session_and_the_event_carries_no_agenda(
    group_world: World,
) -> None:
    w = group_world
    starts = (w.clock.now + timedelta(days=3)).replace(microsecond=0)
    response = await w.client.post(
        "/v1/groups/g-1/sessions",
        json={
            "starts_at": starts.isoformat(),
            "time_zone": "America/New_York",
            "ends_at": (starts + timedelta(minutes=90)).isoformat(),
            "join_url": "https://meet.example.com/abc",
            "agenda": "PRIVATE-AGENDA",
        },
        headers={**w.auth("e-1"), "Idempotency-Key": "k-1"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/sessions/{body['id']}"
    assert body["title"] == "Roundtable g-1"
    assert body["invited_ids"] == ["e-1", "e-2", "e-3"]
    assert body["starts_at"].endswith("-05:00") or body["starts_at"].endswith("-04:00")
    [event] = await w.wait_events(SCHEDULED)
    assert event["subject"] == body["id"] and event["aggregateversion"] == 1
    assert event["data"]["attendee_ids"] == ["e-1", "e-2", "e-3"]
    assert "PRIVATE-AGENDA" not in str(event)

    # The same key again: the same session, no second event.
    again = await w.client.post(
        "/v1/groups/g-1/sessions",
        json={
            "starts_at": starts.isoformat(),
            "time_zone": "America/New_York",
            "ends_at": (starts + timedelta(minutes=90)).isoformat(),
            "join_url": "https://meet.example.com/abc",
            "agenda": "PRIVATE-AGENDA",
        },
        headers={**w.auth("e-1"), "Idempotency-Key": "k-1"},
    )
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    other_body = await w.client.post(
        "/v1/groups/g-1/sessions",
        json={"starts_at": starts.isoformat(), "time_zone": "UTC", "duration_minutes": 30},
        headers={**w.auth("e-1"), "Idempotency-Key": "k-1"},
    )
    assert_problem(other_body, 422)
    # A retry that comes once the session has started still gets the session, not a 422.
    w.clock.advance(days=30)
    late = await w.client.post(
        "/v1/groups/g-1/sessions",
        json={
            "starts_at": starts.isoformat(),
            "time_zone": "America/New_York",
            "ends_at": (starts + timedelta(minutes=90)).isoformat(),
            "join_url": "https://meet.example.com/abc",
            "agenda": "PRIVATE-AGENDA",
        },
        headers={**w.auth("e-1"), "Idempotency-Key": "k-1"},
    )
    assert late.status_code == 201 and late.json()["id"] == body["id"]
    assert len(await w.events(SCHEDULED)) == 1


async def test_bad_schedules_are_refused_with_problems(group_world: World) -> None:
    w = group_world
    future = (w.clock.now + timedelta(days=1)).isoformat()
    past = (w.clock.now - timedelta(minutes=5)).isoformat()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"starts_at": future, "time_zone": "UTC", "ends_at": past}, 422, "ends_at"),
        ({"starts_at": past, "time_zone": "UTC", "duration_minutes": 60}, 422, "starts_at"),
        (
            {"starts_at": future, "time_zone": "Mars/Olympus", "duration_minutes": 60},
            422,
            "time_zone",
        ),
        ({"starts_at": future, "time_zone": "UTC"}, 422, "duration_minutes"),
        (
            {"starts_at": "2026-01-01T10:00:00", "time_zone": "UTC", "duration_minutes": 60},
            422,
            "starts_at",
        ),
        ({"starts_at": future, "time_zone": "UTC", "duration_minutes": 0}, 422, "duration_minutes"),
        (
            {
                "starts_at": future,
                "time_zone": "UTC",
                "duration_minutes": 60,
                "join_url": "javascript:x",
            },
            422,
            "join_url",
        ),
    ]
    for payload, status, field in cases:
        response = await w.client.post(
            "/v1/groups/g-1/sessions", json=payload, headers=w.auth("e-1")
        )
        problem = assert_problem(response, status)
        assert field in problem["detail"], (payload, problem)
    body = {"starts_at": future, "time_zone": "UTC", "duration_minutes": 60}
    assert_problem(
        await w.client.post("/v1/groups/g-1/sessions", json=body, headers=w.auth("e-9")), 403
    )
    assert_problem(
        await w.client.post(
            "/v1/groups/g-1/sessions", json=body, headers=w.auth("e-50", "program_admin")
        ),
        403,
    )
    assert_problem(
        await w.client.post("/v1/groups/nope/sessions", json=body, headers=w.auth("e-1")), 404
    )
    assert_problem(await w.client.post("/v1/groups/g-1/sessions", json=body), 401)
    assert_problem(
        await w.client.post(
            "/v1/groups/g-1/sessions",
            content=b"{",
            headers={**w.auth("e-1"), "content-type": "application/json"},
        ),
        400,
    )
    assert await w.db["sessions"].count_documents({}) == 0


async def test_reschedule_needs_the_current_etag_and_raises_the_whole_new_schedule(
    group_world: World,
) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    url = f"/v1/sessions/{session['id']}"
    later = (w.clock.now + timedelta(days=5)).isoformat()
    assert_problem(await w.client.patch(url, json={"starts_at": later}, headers=w.auth("e-2")), 428)
    assert_problem(
        await w.client.patch(
            url, json={"starts_at": later}, headers={**w.auth("e-2"), "If-Match": '"7"'}
        ),
        412,
    )
    assert_problem(
        await w.client.patch(
            url, json={"starts_at": later}, headers={**w.auth("e-9"), "If-Match": '"1"'}
        ),
        403,
    )
    past = (w.clock.now - timedelta(days=1)).isoformat()
    assert_problem(
        await w.client.patch(
            url, json={"starts_at": past}, headers={**w.auth("e-2"), "If-Match": '"1"'}
        ),
        422,
    )
    moved = await w.client.patch(
        url,
        json={"starts_at": later, "location": "Room 1"},
        headers={**w.auth("e-2"), "If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["ETag"] == '"2"'
    assert moved.json()["location"] == "Room 1"
    assert moved.json()["ends_at"] > moved.json()["starts_at"]
    [event] = await w.wait_events("roundtable.sessions.session.rescheduled")
    assert event["aggregateversion"] == 2
    assert event["data"]["previous_starts_at"].startswith(
        session["starts_at"][:16].replace("+", "")[:16][:10]
    )


async def test_cancel_once_then_nothing_changes_it(group_world: World) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    url = f"/v1/sessions/{session['id']}"
    assert_problem(await w.client.post(f"{url}/cancel", json={}, headers=w.auth("e-9")), 403)
    assert_problem(
        await w.client.post(f"{url}/cancel", json={"note": 5}, headers=w.auth("e-1")), 422
    )
    done = await w.client.post(f"{url}/cancel", json={"note": "offsite"}, headers=w.auth("e-3"))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "cancelled"
    assert done.json()["cancellation"]["cancelled_by"] == "e-3"
    assert_problem(await w.client.post(f"{url}/cancel", json={}, headers=w.auth("e-1")), 409)
    later = (w.clock.now + timedelta(days=5)).isoformat()
    assert_problem(
        await w.client.patch(
            url, json={"starts_at": later}, headers={**w.auth("e-2"), "If-Match": '"2"'}
        ),
        409,
    )
    [event] = await w.wait_events("roundtable.sessions.session.cancelled")
    assert event["data"]["reason"] == "member" and "offsite" not in str(event)


async def test_listing_pages_by_start_and_admins_get_metadata_only(group_world: World) -> None:
    w = group_world
    ids = [(await w.schedule("g-1", "e-1", in_days=d))["id"] for d in (3, 1, 2)]
    first = await w.client.get("/v1/groups/g-1/sessions?limit=2", headers=w.auth("e-2"))
    assert first.status_code == 200, first.text
    page = first.json()
    assert [s["id"] for s in page["items"]] == [ids[1], ids[2]]
    second = await w.client.get(
        f"/v1/groups/g-1/sessions?limit=2&cursor={page['next_cursor']}", headers=w.auth("e-2")
    )
    assert [s["id"] for s in second.json()["items"]] == [ids[0]]
    assert second.json()["next_cursor"] is None
    assert page["items"][0]["agenda"] == "Hot seats for Ada and Grace"

    admin = await w.client.get("/v1/groups/g-1/sessions", headers=w.auth("e-50", "program_admin"))
    assert admin.status_code == 200
    assert all(s["agenda"] is None and s["join_url"] is None for s in admin.json()["items"])
    assert len(admin.json()["items"]) == 3
    one = await w.client.get(f"/v1/sessions/{ids[0]}", headers=w.auth("e-50", "program_admin"))
    assert one.status_code == 200 and one.json()["agenda"] is None
    assert_problem(await w.client.get("/v1/groups/g-1/sessions", headers=w.auth("e-9")), 403)
    assert_problem(await w.client.get(f"/v1/sessions/{ids[0]}", headers=w.auth("e-9")), 403)
    assert_problem(
        await w.client.get("/v1/groups/g-1/sessions?cursor=%%%", headers=w.auth("e-1")), 400
    )
    assert_problem(
        await w.client.get("/v1/groups/g-1/sessions?limit=0", headers=w.auth("e-1")), 422
    )
    assert_problem(await w.client.get("/v1/sessions/nope", headers=w.auth("e-1")), 404)


async def listed(w: World, group_id: str = "g-1", by: str = "e-1") -> dict[str, dict[str, Any]]:
    response = await w.client.get(f"/v1/groups/{group_id}/sessions", headers=w.auth(by))
    assert response.status_code == 200, response.text
    return {s["id"]: s for s in response.json()["items"]}


async def test_the_listing_shows_every_write_at_once(group_world: World) -> None:
    w = group_world
    moved = await w.schedule("g-1", "e-1", in_days=2)
    dropped = await w.schedule("g-1", "e-2", in_days=3)
    assert (await listed(w)).keys() == {moved["id"], dropped["id"]}
    patched = await w.client.patch(
        f"/v1/sessions/{moved['id']}",
        json={"location": "Room 7"},
        headers={**w.auth("e-1"), "If-Match": f'"{moved["version"]}"'},
    )
    assert patched.status_code == 200, patched.text
    cancelled = await w.client.post(
        f"/v1/sessions/{dropped['id']}/cancel", json={"note": "offsite"}, headers=w.auth("e-2")
    )
    assert cancelled.status_code == 200, cancelled.text
    held = await w.held_session("g-1", "e-1", ["e-1", "e-2"])  # a write by the conversation
    listing = await listed(w)
    assert listing[moved["id"]]["location"] == "Room 7"
    assert listing[moved["id"]]["version"] == patched.json()["version"]
    assert listing[dropped["id"]]["status"] == "cancelled"
    assert listing[held["id"]]["status"] == "held"
    assert await listed(w, "g-2", by="e-9") == {}


async def test_sessions_starting_together_are_paged_one_by_one_in_id_order(
    group_world: World,
) -> None:
    w = group_world
    ids = sorted([(await w.schedule("g-1", "e-1", in_days=2))["id"] for _ in range(3)])
    later = (await w.schedule("g-1", "e-1", in_days=3))["id"]
    await w.schedule("g-2", "e-9", in_days=2)  # another group's, at the same time
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = await w.client.get(f"/v1/groups/g-1/sessions?limit=1{cursor}", headers=w.auth("e-2"))
        assert page.status_code == 200, page.text
        seen += [s["id"] for s in page.json()["items"]]
        if page.json()["next_cursor"] is None:
            break
        cursor = f"&cursor={page.json()['next_cursor']}"
    assert seen == [*ids, later]


async def test_a_forged_listing_cursor_is_a_bad_request(group_world: World) -> None:
    w = group_world
    for position in ({"k": "2030-01-01T00:00:00", "id": "x"}, {"k": "soon", "id": "x"}, {}):
        cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
        assert_problem(
            await w.client.get(f"/v1/groups/g-1/sessions?cursor={cursor}", headers=w.auth("e-1")),
            400,
        )


async def test_a_session_downloads_as_ics_without_its_agenda(group_world: World) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1", location="Room 4.12")
    response = await w.client.get(
        f"/v1/sessions/{session['id']}/calendar.ics", headers=w.auth("e-2")
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    text = response.text
    assert "BEGIN:VEVENT" in text and f"UID:{session['id']}@sessions.roundtable" in text
    assert "DTSTART;TZID=Europe/Berlin:" in text and "BEGIN:VTIMEZONE" in text
    assert "LOCATION:Room 4.12" in text
    assert "Hot seats" not in text
    assert_problem(
        await w.client.get(f"/v1/sessions/{session['id']}/calendar.ics", headers=w.auth("e-9")), 403
    )


async def test_the_calendar_feed_is_private_revocable_and_follows_membership(
    group_world: World,
) -> None:
    w = group_world
    mine = await w.schedule("g-1", "e-1")
    theirs = await w.schedule("g-2", "e-9")
    created = await w.client.post("/v1/me/calendar-feed", headers=w.auth("e-2"))
    assert created.status_code == 201
    url = created.json()["url"]
    path = url[url.index("/v1/") :]
    feed = await w.client.get(path)  # no bearer token: the secret URL is the credential
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert mine["id"] in feed.text and theirs["id"] not in feed.text

    await w.client.post(f"/v1/sessions/{mine['id']}/cancel", json={}, headers=w.auth("e-1"))
    assert "STATUS:CANCELLED" in (await w.client.get(path)).text

    rotated = (await w.client.post("/v1/me/calendar-feed", headers=w.auth("e-2"))).json()["url"]
    assert_problem(await w.client.get(path), 404)
    new_path = rotated[rotated.index("/v1/") :]
    assert (await w.client.get(new_path)).status_code == 200
    assert (await w.client.delete("/v1/me/calendar-feed", headers=w.auth("e-2"))).status_code == 204
    assert_problem(await w.client.get(new_path), 404)
    assert_problem(await w.client.post("/v1/me/calendar-feed"), 401)
