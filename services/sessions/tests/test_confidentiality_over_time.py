"""Confidentiality over time: a session's conversation is for those who were members then."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from roundtable_dev.testing.sessions import HOT_SEAT, World, assert_problem, member
from roundtable_shared.events.catalogue.enrollment import GroupChanged


async def join(w: World, employee_id: str, *, version: int, members: list[str]) -> None:
    """Enrollment adds someone to g-1 now (a refill, an admin's move)."""
    await w.publish(
        GroupChanged(
            group_id="g-1",
            program_id="prg_1",
            name="Roundtable g-1",
            members=[member(e) for e in members],
            added_employee_ids=[employee_id],
            reason="admin",
            changed_at=w.clock.now,
        ),
        subject="g-1",
        version=version,
    )
    await w.group_at("g-1", version)


def listed(page: dict[str, Any], session_id: str) -> dict[str, Any]:
    [item] = [s for s in page["items"] if s["id"] == session_id]
    return item


async def test_a_member_who_joins_later_sees_that_earlier_sessions_were_but_not_what_was_said(
    group_world: World,
) -> None:
    w = group_world
    held = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    url = f"/v1/sessions/{held['id']}/record"
    correction = {"attendee_ids": ["e-1", "e-2"], "hot_seats": [HOT_SEAT | {"suggestions": []}]}
    corrected = await w.client.put(
        url, json=correction, headers={**w.auth("e-2"), "If-Match": '"2"'}
    )
    assert corrected.status_code == 200, corrected.text

    await join(w, "e-4", version=2, members=["e-1", "e-2", "e-3", "e-4"])
    upcoming = await w.schedule("g-1", "e-1", in_days=3, agenda="Next: Grace's hot seat")

    # The newcomer reads neither the record nor its history, nor writes it.
    for path in (url, f"{url}/history"):
        problem = assert_problem(await w.client.get(path, headers=w.auth("e-4")), 403)
        assert "SECRET" not in str(problem)
    assert_problem(
        await w.client.put(url, json=correction, headers={**w.auth("e-4"), "If-Match": '"3"'}), 403
    )
    # They see that the session was (when, its title, its status), not what the group wrote.
    meta = (await w.client.get(f"/v1/sessions/{held['id']}", headers=w.auth("e-4"))).json()
    assert meta["status"] == "held" and meta["agenda"] is None and meta["join_url"] is None
    page = (await w.client.get("/v1/groups/g-1/sessions", headers=w.auth("e-4"))).json()
    assert listed(page, held["id"])["agenda"] is None
    assert listed(page, held["id"])["starts_at"] == meta["starts_at"]
    # What is planned since they joined is theirs too.
    assert listed(page, upcoming["id"])["agenda"] == "Next: Grace's hot seat"
    # Their calendar holds what they are part of, not the place and link of what was before.
    assert_problem(
        await w.client.get(f"/v1/sessions/{held['id']}/calendar.ics", headers=w.auth("e-4")), 403
    )
    created = (await w.client.post("/v1/me/calendar-feed", headers=w.auth("e-4"))).json()["url"]
    feed = (await w.client.get(created[created.index("/v1/") :])).text
    assert upcoming["id"] in feed and held["id"] not in feed

    # Those who were there read it all, as before.
    record = await w.client.get(url, headers=w.auth("e-3"))
    assert record.status_code == 200 and "SECRET-CHALLENGE" in record.text
    assert (await w.client.get(f"{url}/history", headers=w.auth("e-3"))).status_code == 200
    page = (await w.client.get("/v1/groups/g-1/sessions", headers=w.auth("e-3"))).json()
    assert listed(page, held["id"])["agenda"] == "Hot seats for Ada and Grace"

    # Nor can a member who was there record the newcomer as having attended.
    as_attendee = {**correction, "attendee_ids": ["e-1", "e-4"]}
    problem = assert_problem(
        await w.client.put(url, json=as_attendee, headers={**w.auth("e-1"), "If-Match": '"3"'}), 422
    )
    assert "e-4" in problem["detail"]


async def test_a_newcomer_cannot_record_a_session_held_before_they_joined(
    group_world: World,
) -> None:
    w = group_world
    session = await w.schedule("g-1", "e-1")
    w.clock.advance(days=2)  # held, not recorded yet
    await join(w, "e-4", version=2, members=["e-1", "e-2", "e-3", "e-4"])
    body = {"attendee_ids": ["e-4"], "hot_seats": []}
    url = f"/v1/sessions/{session['id']}/record"
    assert_problem(await w.client.post(url, json=body, headers=w.auth("e-4")), 403)
    created = await w.client.post(url, json={"attendee_ids": ["e-1"]}, headers=w.auth("e-1"))
    assert created.status_code == 201, created.text


async def test_a_late_copy_of_an_earlier_membership_does_not_open_the_past(
    group_world: World,
) -> None:
    """Version 2 (e-4 joins) arrives after version 3 (e-5 joins): neither sees the session."""
    w = group_world
    held = await w.held_session("g-1", "e-1", ["e-1", "e-2"])
    later = w.clock.now
    w.clock.advance(hours=1)
    await join(w, "e-5", version=3, members=["e-1", "e-2", "e-3", "e-4", "e-5"])
    w.clock.now = later
    await w.publish(
        GroupChanged(
            group_id="g-1",
            program_id="prg_1",
            name="Roundtable g-1",
            members=[member(e) for e in ["e-1", "e-2", "e-3", "e-4"]],
            added_employee_ids=["e-4"],
            reason="admin",
            changed_at=later,
        ),
        subject="g-1",
        version=2,
    )
    await w.form_group("g-z", ["e-7", "e-8"])  # a marker: everything before it was handled
    url = f"/v1/sessions/{held['id']}/record"
    for newcomer in ("e-4", "e-5"):
        assert_problem(await w.client.get(url, headers=w.auth(newcomer)), 403)
    assert (await w.client.get(url, headers=w.auth("e-2"))).status_code == 200


async def test_the_group_shares_a_session_with_later_members_only_when_everyone_agrees(
    group_world: World,
) -> None:
    w = group_world
    held = await w.held_session("g-1", "e-1", ["e-1", "e-2"])  # e-3 is a member, not there
    url = f"/v1/sessions/{held['id']}/record"
    sharing = f"{url}/sharing"
    await join(w, "e-4", version=2, members=["e-1", "e-2", "e-3", "e-4"])

    # The newcomer can neither read it nor share it with themselves.
    assert_problem(await w.client.put(sharing, headers=w.auth("e-4")), 403)
    assert_problem(await w.client.get(sharing, headers=w.auth("e-4")), 403)
    first = await w.client.put(sharing, headers=w.auth("e-1"))
    assert first.status_code == 200, first.text
    assert first.json()["shared_with_later_members"] is False
    assert first.json()["waiting_for"] == ["e-2", "e-3"]
    again = await w.client.put(sharing, headers=w.auth("e-1"))  # agreeing twice: no change
    assert again.json()["version"] == first.json()["version"]
    assert (await w.client.put(sharing, headers=w.auth("e-2"))).status_code == 200
    assert_problem(await w.client.get(url, headers=w.auth("e-4")), 403)

    # The last one agrees: the newcomer reads the record and its history.
    last = (await w.client.put(sharing, headers=w.auth("e-3"))).json()
    assert last["shared_with_later_members"] is True and last["waiting_for"] == []
    record = await w.client.get(url, headers=w.auth("e-4"))
    assert record.status_code == 200 and "SECRET-CHALLENGE" in record.text
    assert (await w.client.get(f"{url}/history", headers=w.auth("e-4"))).status_code == 200
    # Reading is not writing: only those who were there correct it.
    body = {"attendee_ids": ["e-1"]}
    assert_problem(
        await w.client.put(url, json=body, headers={**w.auth("e-4"), "If-Match": '"5"'}), 403
    )

    # One takes it back: it is theirs again.
    taken_back = await w.client.delete(sharing, headers=w.auth("e-2"))
    assert taken_back.json()["shared_with_later_members"] is False
    assert_problem(await w.client.get(url, headers=w.auth("e-4")), 403)

    # Someone whose words it holds has left the group: nobody can agree for them.
    await w.publish(
        GroupChanged(
            group_id="g-1",
            program_id="prg_1",
            name="Roundtable g-1",
            members=[member(e) for e in ["e-1", "e-3", "e-4"]],
            removed_employee_ids=["e-2"],
            reason="member_withdrawn",
            changed_at=w.clock.now,
        ),
        subject="g-1",
        version=3,
    )
    await w.group_at("g-1", 3)
    status = (await w.client.get(sharing, headers=w.auth("e-1"))).json()
    assert status["waiting_for"] == ["e-2"] and status["shared_with_later_members"] is False
    assert_problem(await w.client.get(url, headers=w.auth("e-4")), 403)


async def test_action_steps_of_an_earlier_session_are_for_those_who_were_there(
    group_world: World,
) -> None:
    w = group_world
    held = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    steps = f"/v1/sessions/{held['id']}/action-steps"
    due_on = (w.clock.now + timedelta(days=7)).date().isoformat()
    body = {"accountability_partner_id": "e-3", "title": "SECRET-STEP", "due_on": due_on}
    committed = await w.client.post(steps, json=body, headers=w.auth("e-2"))
    assert committed.status_code == 201, committed.text
    step = committed.json()
    await join(w, "e-4", version=2, members=["e-1", "e-2", "e-3", "e-4"])

    listing = await w.client.get(steps, headers=w.auth("e-4"))
    assert listing.status_code == 200 and listing.json() == []
    assert_problem(await w.client.get(f"/v1/action-steps/{step['id']}", headers=w.auth("e-4")), 403)
    # Nor do they commit in a session they were not part of.
    mine = {**body, "accountability_partner_id": "e-1"}
    assert_problem(await w.client.post(steps, json=mine, headers=w.auth("e-4")), 403)
    assert [s["id"] for s in (await w.client.get(steps, headers=w.auth("e-1"))).json()] == [
        step["id"]
    ]

    # The owner may make them their accountability partner: then they follow that step.
    partnered = await w.client.patch(
        f"/v1/action-steps/{step['id']}",
        json={"accountability_partner_id": "e-4"},
        headers={**w.auth("e-2"), "If-Match": f'"{step["version"]}"'},
    )
    assert partnered.status_code == 200, partnered.text
    seen = await w.client.get(f"/v1/action-steps/{step['id']}", headers=w.auth("e-4"))
    assert seen.status_code == 200 and seen.json()["title"] == "SECRET-STEP"
    assert [s["id"] for s in (await w.client.get(steps, headers=w.auth("e-4"))).json()] == [
        step["id"]
    ]
