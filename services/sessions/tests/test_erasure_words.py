"""Erasure reaches every word a person wrote on sessions, wherever it lies: shared notes added to
a session held before they joined, a hot seat a correction moved into the record's history, the
titles, places, links and agendas of sessions they planned or changed, their cancellation notes;
and the events about those sessions are sealed with their key, so the stream keeps none of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from roundtable_dev.testing.sessions import World, eventually, member
from roundtable_shared.events.catalogue.enrollment import EmployeeErased, GroupChanged

NOW = datetime(2026, 9, 1, tzinfo=UTC)
JOINER = "e-4"


async def correct(w: World, session_id: str, by: str, body: dict[str, Any]) -> None:
    url = f"/v1/sessions/{session_id}/record"
    current = await w.client.get(url, headers=w.auth(by))
    assert current.status_code == 200, current.text
    edited = await w.client.put(
        url, json=body, headers={**w.auth(by), "If-Match": current.headers["ETag"]}
    )
    assert edited.status_code == 200, edited.text


async def test_an_erasure_leaves_no_word_of_the_person_on_any_session_nor_in_the_stream(
    group_world: World,
) -> None:
    w = group_world
    # Before the joiner joins: two sessions held (one recorded), one planned; none invites them.
    to_be_held = await w.schedule("g-1", "e-1", title="Planned by e-1")
    upcoming = await w.schedule("g-1", "e-1", in_days=10, title="Kept title by e-1")
    held_before = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    await w.publish(
        GroupChanged(
            group_id="g-1",
            program_id="prg_1",
            name="Roundtable g-1",
            members=[member(e) for e in ("e-1", "e-2", "e-3", JOINER)],
            added_employee_ids=[JOINER],
            reason="rematch",
            changed_at=NOW,
        ),
        subject="g-1",
        version=2,
    )
    await w.group_at("g-1", 2)

    # A shared note on the session held before they joined.
    await correct(
        w,
        held_before["id"],
        JOINER,
        {
            "attendee_ids": ["e-1", "e-2", "e-3"],
            "shared_notes": [{"text": "JOINER-SAID-LATE-NOTE"}],
        },
    )
    # A hot seat in a session they were not invited to, which a correction then moves to history.
    recorded = await w.client.post(
        f"/v1/sessions/{to_be_held['id']}/record",
        json={
            "attendee_ids": ["e-1", JOINER],
            "hot_seats": [{"employee_id": JOINER, "challenge": "JOINER-SAID-SEAT"}],
        },
        headers=w.auth("e-1"),
    )
    assert recorded.status_code == 201, recorded.text
    await correct(w, to_be_held["id"], "e-1", {"attendee_ids": ["e-1"]})
    # Their place on a session someone else planned, and sessions they planned and cancelled.
    # (The joiner's invitation changed it meanwhile: its current ETag.)
    seen = await w.client.get(f"/v1/sessions/{upcoming['id']}", headers=w.auth(JOINER))
    place = await w.client.patch(
        f"/v1/sessions/{upcoming['id']}",
        json={"location": "JOINER-SAID-PLACE"},
        headers={**w.auth(JOINER), "If-Match": seen.headers["ETag"]},
    )
    assert place.status_code == 200, place.text
    theirs = await w.schedule(
        "g-1",
        JOINER,
        title="JOINER-SAID-TITLE",
        agenda="JOINER-SAID-AGENDA",
        location="JOINER-SAID-ROOM",
        join_url="https://meet.example.com/JOINER-SAID-LINK",
    )
    # As a session scheduled before authors were kept: its words are its scheduler's.
    await w.db["sessions"].update_one({"_id": theirs["id"]}, {"$unset": {"written_by": ""}})
    cancelled = await w.schedule("g-1", "e-1", title="Cancelled by the joiner")
    cancel = await w.client.post(
        f"/v1/sessions/{cancelled['id']}/cancel",
        json={"note": "JOINER-SAID-CANCEL-NOTE"},
        headers=w.auth(JOINER),
    )
    assert cancel.status_code == 200, cancel.text
    await w.wait_events("roundtable.sessions.session.cancelled")
    assert "JOINER-SAID-TITLE" in str(await w.events())  # opened while the key exists
    assert "JOINER-SAID-" not in str(await w.events(sealed=True))  # as the stream holds them

    await w.publish(EmployeeErased(employee_id=JOINER, erased_at=NOW), subject=JOINER, version=2)

    async def nothing_left() -> bool:
        stored = str(await w.db["sessions"].find().to_list())
        return "JOINER-SAID-" not in stored

    assert await eventually(nothing_left), "|".join(
        str(x)
        for x in [d for d in await w.db["sessions"].find().to_list() if "JOINER-SAID-" in str(d)]
    )
    kept = (await w.client.get(f"/v1/sessions/{upcoming['id']}", headers=w.auth("e-1"))).json()
    assert (kept["title"], kept["location"]) == ("Kept title by e-1", None)  # others' words stay
    mine = (await w.client.get(f"/v1/sessions/{theirs['id']}", headers=w.auth("e-1"))).json()
    assert (mine["title"], mine["agenda"], mine["join_url"]) == ("[erased]", None, None)
    history = await w.client.get(
        f"/v1/sessions/{to_be_held['id']}/record/history", headers=w.auth("e-1")
    )
    assert history.status_code == 200 and "JOINER-SAID-" not in history.text
    # Reminders hears of the upcoming session's new schedule; the stream yields nothing of them.
    assert await eventually(lambda: _rescheduled_with(w, theirs["id"], "[erased]"), timeout=10)
    assert "JOINER-SAID-" not in str(await w.events())


async def _rescheduled_with(w: World, session_id: str, title: str) -> bool:
    return any(
        e["data"]["session_id"] == session_id and e["data"]["title"] == title
        for e in await w.events("roundtable.sessions.session.rescheduled")
    )
