"""Recording a held session, correcting it with history, private notes; confidentiality."""

from __future__ import annotations

import asyncio
from typing import Any

from roundtable_dev.testing.sessions import HOT_SEAT, World, assert_problem

COMPLETED = "roundtable.sessions.session.completed"


def record_body(**overrides: Any) -> dict[str, Any]:
    return {
        "attendee_ids": ["e-1", "e-2", "e-3"],
        "hot_seats": [HOT_SEAT],
        "shared_notes": [{"text": "SECRET-SHARED-NOTE"}],
        **overrides,
    }


async def test_a_held_session_is_recorded_once_and_its_event_carries_no_content(
    group_world: World,
) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    url = f"/v1/sessions/{session['id']}/record"
    assert_problem(await w.client.post(url, json=record_body(), headers=w.auth("e-1")), 409)

    w.clock.advance(days=1, hours=1)
    assert_problem(await w.client.post(url, json=record_body(), headers=w.auth("e-9")), 403)
    recorded = await w.client.post(url, json=record_body(), headers=w.auth("e-1"))
    assert recorded.status_code == 201, recorded.text
    body = recorded.json()
    assert recorded.headers["ETag"] == '"2"'
    assert body["hot_seats"][0]["challenge"] == HOT_SEAT["challenge"]
    assert body["hot_seats"][0]["suggestions"] == [{"by": "e-3", "text": "SECRET-SUGGESTION"}]
    assert body["shared_notes"][0]["author_id"] == "e-1"
    assert_problem(await w.client.post(url, json=record_body(), headers=w.auth("e-2")), 409)

    [event] = await w.wait_events(COMPLETED)
    assert event["data"]["attendee_ids"] == ["e-1", "e-2", "e-3"]
    assert event["data"]["invited_count"] == 3
    assert "SECRET" not in str(await w.events())

    members_view = await w.client.get(url, headers=w.auth("e-3"))
    assert members_view.status_code == 200 and members_view.json()["hot_seats"]
    # Program admins see metadata (when, who attended, how many steps), never the conversation.
    assert_problem(await w.client.get(url, headers=w.auth("e-50", "program_admin")), 403)
    meta = await w.client.get(
        f"/v1/sessions/{session['id']}", headers=w.auth("e-50", "program_admin")
    )
    assert meta.status_code == 200
    assert meta.json()["status"] == "held"
    assert meta.json()["attendee_ids"] == ["e-1", "e-2", "e-3"]
    assert meta.json()["action_step_count"] == 0
    assert "SECRET" not in meta.text
    assert_problem(await w.client.get(url, headers=w.auth("e-9")), 403)


async def test_a_cancelled_session_cannot_be_recorded(group_world: World) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    await w.client.post(f"/v1/sessions/{session['id']}/cancel", json={}, headers=w.auth("e-1"))
    w.clock.advance(days=2)
    response = await w.client.post(
        f"/v1/sessions/{session['id']}/record", json=record_body(), headers=w.auth("e-1")
    )
    assert "cancelled" in assert_problem(response, 409)["detail"]
    assert_problem(
        await w.client.get(f"/v1/sessions/{session['id']}/record", headers=w.auth("e-1")), 404
    )


async def test_records_that_break_the_rules_are_refused(group_world: World) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    w.clock.advance(days=2)
    url = f"/v1/sessions/{session['id']}/record"
    seat_by_stranger = {**HOT_SEAT, "employee_id": "e-9"}
    self_suggestion = {**HOT_SEAT, "suggestions": [{"by": "e-2", "text": "x"}]}
    cases: list[tuple[dict[str, Any], str]] = [
        (record_body(attendee_ids=[]), "attendee_ids"),
        (record_body(attendee_ids=["e-1", "e-9"]), "attendee_ids"),
        (record_body(attendee_ids=["e-1", "e-1"]), "attendee_ids"),
        (record_body(attendee_ids=["e-1", "e-3"]), "hot_seats.0.employee_id"),
        (record_body(hot_seats=[seat_by_stranger]), "hot_seats.0.employee_id"),
        (record_body(hot_seats=[self_suggestion]), "hot_seats.0.suggestions.0.by"),
        (record_body(hot_seats=[HOT_SEAT, HOT_SEAT]), "hot_seats.1.employee_id"),
        (
            record_body(started_at="2026-01-02T10:00:00Z", ended_at="2026-01-02T09:00:00Z"),
            "ended_at",
        ),
        (record_body(hot_seats=[{**HOT_SEAT, "challenge": ""}]), "challenge"),
        (record_body(surprise=1), "surprise"),
    ]
    for payload, field in cases:
        problem = assert_problem(await w.client.post(url, json=payload, headers=w.auth("e-1")), 422)
        assert field in problem["detail"], (payload, problem)
    conversation = await w.db["sessions"].find_one({"_id": session["id"]})
    assert conversation is not None and "record" not in conversation


async def test_corrections_need_the_etag_and_keep_history(group_world: World) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    url = f"/v1/sessions/{session['id']}/record"
    current = (await w.client.get(url, headers=w.auth("e-2"))).json()
    notes = [{"text": "SECRET-NOTE-BY-E2"}]
    seat = {**HOT_SEAT, "suggestions": [{"by": "e-1", "text": "SECRET-SUGGESTION-2"}]}
    correction = record_body(attendee_ids=["e-1", "e-2"], hot_seats=[seat], shared_notes=notes)
    assert_problem(await w.client.put(url, json=correction, headers=w.auth("e-2")), 428)
    assert_problem(
        await w.client.put(url, json=correction, headers={**w.auth("e-2"), "If-Match": '"1"'}), 412
    )
    assert_problem(
        await w.client.put(url, json=correction, headers={**w.auth("e-9"), "If-Match": '"2"'}), 403
    )
    assert_problem(
        await w.client.put(
            url,
            json=record_body(shared_notes=[{"note_id": "nope", "text": "x"}]),
            headers={**w.auth("e-2"), "If-Match": '"2"'},
        ),
        422,
    )
    edited = await w.client.put(
        url, json=correction, headers={**w.auth("e-2"), "If-Match": f'"{current["version"]}"'}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["attendee_ids"] == ["e-1", "e-2"]
    assert edited.json()["edited_by"] == "e-2" and edited.json()["recorded_by"] == "e-1"
    assert edited.json()["shared_notes"][0]["author_id"] == "e-2"
    history = await w.client.get(f"{url}/history", headers=w.auth("e-3"))
    assert history.status_code == 200
    [revision] = history.json()
    assert revision["version"] == 2 and revision["replaced_by"] == "e-2"
    assert revision["record"]["attendee_ids"] == ["e-1", "e-2", "e-3"]
    assert_problem(
        await w.client.get(f"{url}/history", headers=w.auth("e-50", "program_admin")), 403
    )
    [event] = await w.wait_events("roundtable.sessions.session.attendance_corrected")
    assert event["data"]["attendee_ids"] == ["e-1", "e-2"] and event["aggregateversion"] == 3


async def test_private_notes_are_their_authors_alone(group_world: World) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    base = f"/v1/sessions/{session['id']}/private-notes"
    created = await w.client.post(
        base, json={"text": "PRIVATE-E2"}, headers={**w.auth("e-2"), "Idempotency-Key": "n1"}
    )
    assert created.status_code == 201, created.text
    note = created.json()
    again = await w.client.post(
        base, json={"text": "PRIVATE-E2"}, headers={**w.auth("e-2"), "Idempotency-Key": "n1"}
    )
    assert again.json()["id"] == note["id"]
    await w.client.post(base, json={"text": "PRIVATE-E3"}, headers=w.auth("e-3"))

    mine = (await w.client.get(base, headers=w.auth("e-2"))).json()
    assert [n["text"] for n in mine] == ["PRIVATE-E2"]
    # Another member, even of the same group, cannot learn the note exists.
    assert_problem(await w.client.get(f"{base}/{note['id']}", headers=w.auth("e-3")), 404)
    assert_problem(
        await w.client.get(f"{base}/{note['id']}", headers=w.auth("e-50", "program_admin")), 404
    )
    assert_problem(await w.client.get(base, headers=w.auth("e-50", "program_admin")), 403)
    assert_problem(await w.client.post(base, json={"text": "x"}, headers=w.auth("e-9")), 403)
    assert_problem(await w.client.post(base, json={"text": ""}, headers=w.auth("e-2")), 422)
    assert_problem(
        await w.client.put(
            f"{base}/{note['id']}", json={"text": "y"}, headers={**w.auth("e-3"), "If-Match": '"1"'}
        ),
        404,
    )
    edited = await w.client.put(
        f"{base}/{note['id']}",
        json={"text": "PRIVATE-E2b"},
        headers={**w.auth("e-2"), "If-Match": '"1"'},
    )
    assert edited.status_code == 200 and edited.json()["text"] == "PRIVATE-E2b"
    assert edited.headers["ETag"] == '"2"'
    assert_problem(
        await w.client.put(
            f"{base}/{note['id']}", json={"text": "z"}, headers={**w.auth("e-2"), "If-Match": '"1"'}
        ),
        412,
    )
    assert_problem(await w.client.delete(f"{base}/{note['id']}", headers=w.auth("e-3")), 404)
    assert (await w.client.delete(f"{base}/{note['id']}", headers=w.auth("e-2"))).status_code == 204
    assert (await w.client.get(base, headers=w.auth("e-2"))).json() == []
    assert "PRIVATE" not in str(await w.events())


async def test_my_notes_list_follows_every_write(group_world: World) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    base = f"/v1/sessions/{session['id']}/private-notes"

    async def mine() -> list[tuple[str, str]]:
        response = await w.client.get(base, headers=w.auth("e-2"))
        assert response.status_code == 200, response.text
        return [(n["id"], n["text"]) for n in response.json()]

    assert await mine() == []
    first = (await w.client.post(base, json={"text": "one"}, headers=w.auth("e-2"))).json()
    w.clock.advance(seconds=1)
    second = (await w.client.post(base, json={"text": "two"}, headers=w.auth("e-2"))).json()
    await w.client.post(base, json={"text": "theirs"}, headers=w.auth("e-3"))
    edited = await w.client.put(
        f"{base}/{first['id']}",
        json={"text": "one, edited"},
        headers={**w.auth("e-2"), "If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text
    assert await mine() == [(first["id"], "one, edited"), (second["id"], "two")]
    deleted = await w.client.delete(f"{base}/{second['id']}", headers=w.auth("e-2"))
    assert deleted.status_code == 204
    assert await mine() == [(first["id"], "one, edited")]
    assert_problem(
        await w.client.get("/v1/sessions/nope/private-notes", headers=w.auth("e-2")), 404
    )


async def test_notes_written_at_once_by_a_double_tap_are_both_kept(group_world: World) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    base = f"/v1/sessions/{session['id']}/private-notes"

    answers = await asyncio.gather(
        *(w.client.post(base, json={"text": f"note {n}"}, headers=w.auth("e-2")) for n in range(4))
    )

    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    listed = await w.client.get(base, headers=w.auth("e-2"))
    assert sorted(n["text"] for n in listed.json()) == [f"note {n}" for n in range(4)]


async def test_membership_is_checked_at_each_read_and_write_of_notes(
    group_world: World,
) -> None:
    w = group_world
    key = {"Idempotency-Key": "later"}
    # Not scheduled yet: 404, and not remembered as missing.
    session_id = await w.client.post("/v1/groups/g-1/sessions", json={}, headers=w.auth("e-1"))
    assert session_id.status_code == 422
    assert_problem(
        await w.client.get("/v1/sessions/nope/private-notes", headers=w.auth("e-2")), 404
    )
    session = await w.schedule("g-1", "e-1")
    base = f"/v1/sessions/{session['id']}/private-notes"
    for _ in range(2):  # the second write is a retry of the first (same key)
        written = await w.client.post(base, json={"text": "x"}, headers={**w.auth("e-2"), **key})
        assert written.status_code == 201, written.text
        assert [n["text"] for n in (await w.client.get(base, headers=w.auth("e-2"))).json()] == [
            "x"
        ]
        assert_problem(await w.client.get(base, headers=w.auth("e-9")), 403)
        assert_problem(await w.client.post(base, json={"text": "y"}, headers=w.auth("e-9")), 403)
