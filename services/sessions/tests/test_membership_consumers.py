"""Enrollment's events: idempotent, order-tolerant copies, and what follows from them."""

from __future__ import annotations

from datetime import UTC, datetime

from roundtable_dev.testing.sessions import World, assert_problem, eventually, member
from roundtable_shared.events.catalogue.enrollment import (
    EmployeeErased,
    EmployeeUpserted,
    GroupChanged,
    GroupDissolved,
    ParticipantWithdrawn,
)
from sessions.membership.repository import GroupRepository

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def changed(members: list[str]) -> GroupChanged:
    return GroupChanged(
        group_id="g-1",
        program_id="prg_1",
        name="Roundtable g-1",
        members=[member(e) for e in members],
        reason="rematch",
        changed_at=NOW,
    )


async def test_a_change_before_its_formation_and_redeliveries_leave_the_newest_copy(
    world: World,
) -> None:
    w = world
    newer = await w.publish(changed(["e-1", "e-2", "e-4"]), subject="g-1", version=2)
    await w.group_at("g-1", 2)
    await w.form_group("g-x", ["e-7", "e-8"])  # a marker: everything before it was handled
    # The older formation arrives late, and the change is redelivered (past the duplicate window).
    await w.publish(changed(["e-1", "e-2", "e-3"]).model_copy(), subject="g-1", version=1)
    await w.redeliver(newer, msg_id="again-1")
    await w.form_group("g-y", ["e-7", "e-8"])
    group = await w.db["groups"].find_one({"_id": "g-1"})
    assert group is not None and group["version"] == 2
    assert group["member_ids"] == ["e-1", "e-2", "e-4"]
    assert (await w.client.post("/v1/me/calendar-feed", headers=w.auth("e-4"))).status_code == 201
    future = (w.clock.now.replace(microsecond=0)).isoformat()
    assert_problem(
        await w.client.post(
            "/v1/groups/g-1/sessions",
            json={"starts_at": future, "time_zone": "UTC", "duration_minutes": 30},
            headers=w.auth("e-3"),
        ),
        403,
    )
    assert await w.db["processed_events"].count_documents({}) >= 4


async def test_dissolving_cancels_upcoming_sessions_once(group_world: World) -> None:
    w = group_world
    upcoming = await w.schedule("g-1", "e-1")
    dissolved = await w.publish(
        GroupDissolved(
            group_id="g-1", program_id="prg_1", reason="too_few_members", dissolved_at=NOW
        ),
        subject="g-1",
        version=2,
    )
    await w.group_at("g-1", 2)
    [event] = await w.wait_events("roundtable.sessions.session.cancelled")
    assert event["subject"] == upcoming["id"] and event["data"]["reason"] == "group_dissolved"
    await w.redeliver(dissolved, msg_id="again-2")
    await w.form_group("g-z", ["e-7", "e-8"])
    assert len(await w.events("roundtable.sessions.session.cancelled")) == 1
    session = (await w.client.get(f"/v1/sessions/{upcoming['id']}", headers=w.auth("e-1"))).json()
    assert session["status"] == "cancelled"
    future = w.clock.now.isoformat()
    problem = await w.client.post(
        "/v1/groups/g-1/sessions",
        json={"starts_at": future, "time_zone": "UTC", "duration_minutes": 30},
        headers=w.auth("e-1"),
    )
    assert problem.status_code in (403, 409)


async def test_a_withdrawal_ends_access_and_drops_open_steps_even_before_the_group_changes(
    group_world: World,
) -> None:
    w = group_world
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    created = await w.client.post(
        f"/v1/sessions/{session['id']}/action-steps",
        json={
            "accountability_partner_id": "e-3",
            "title": "t",
            "due_on": w.clock.now.date().isoformat(),
        },
        headers=w.auth("e-2"),
    )
    assert created.status_code == 201, created.text
    await w.publish(
        ParticipantWithdrawn(
            participant_id="par-e-2",
            program_id="prg_1",
            employee_id="e-2",
            group_id="g-1",
            reason="self",
            withdrawn_at=NOW,
        ),
        subject="par-e-2",
        version=3,
    )
    [event] = await w.wait_events("roundtable.sessions.action.dropped")
    assert event["data"]["reason"] == "owner_withdrawn"
    assert_problem(
        await w.client.get(f"/v1/sessions/{session['id']}/record", headers=w.auth("e-2")), 403
    )
    # A late copy of the group that still lists them does not let them back in.
    await w.publish(changed(["e-1", "e-2", "e-3"]), subject="g-1", version=5)
    await w.group_at("g-1", 5)
    assert_problem(
        await w.client.get(f"/v1/sessions/{session['id']}/record", headers=w.auth("e-2")), 403
    )


async def test_erasure_removes_a_persons_words_and_keeps_the_counts(group_world: World) -> None:
    w = group_world
    await w.publish(
        EmployeeUpserted(
            employee_id="e-2",
            display_name="Ada",
            email="ada@example.com",
            time_zone="Asia/Tokyo",
            employment_status="active",
            updated_at=NOW,
        ),
        subject="e-2",
        version=1,
    )
    assert await eventually(lambda: w.db["employees"].find_one({"_id": "e-2"}))
    session = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    sid = session["id"]
    step = (
        await w.client.post(
            f"/v1/sessions/{sid}/action-steps",
            json={
                "accountability_partner_id": "e-3",
                "title": "SECRET-TITLE",
                "due_on": w.clock.now.date().isoformat(),
            },
            headers=w.auth("e-2"),
        )
    ).json()
    assert step["time_zone"] == "Asia/Tokyo"  # the owner's zone, from employee.upserted
    await w.client.post(
        f"/v1/action-steps/{step['id']}/comments",
        json={"text": "PARTNER-WORDS"},
        headers=w.auth("e-3"),
    )
    await w.client.post(
        f"/v1/sessions/{sid}/private-notes", json={"text": "SECRET-PRIVATE"}, headers=w.auth("e-2")
    )
    await w.client.post(
        f"/v1/sessions/{sid}/feedback",
        json={"rating": 4, "comment": "SECRET-FB"},
        headers=w.auth("e-2"),
    )
    await w.client.post("/v1/me/calendar-feed", headers=w.auth("e-2"))
    for who, role in (("e-2", "owner"), ("e-3", "partner")):
        listed = await w.client.get(f"/v1/me/action-steps?role={role}", headers=w.auth(who))
        assert listed.json()["items"][0]["title"] == "SECRET-TITLE"
    erased = await w.publish(
        EmployeeErased(employee_id="e-2", erased_at=NOW), subject="e-2", version=2
    )

    async def erased_everywhere() -> bool:
        return await w.db["employees"].find_one({"_id": "e-2", "erased": True}) is not None and (
            await w.db["calendar_feeds"].find_one({"_id": "e-2"}) is None
        )

    assert await eventually(erased_everywhere)
    await w.redeliver(erased, msg_id="again-3")
    await w.form_group("g-q", ["e-7", "e-8"])
    record = (await w.client.get(f"/v1/sessions/{sid}/record", headers=w.auth("e-1"))).json()
    assert record["attendee_ids"] == ["e-1", "e-2", "e-3"]  # the opaque id stays countable
    assert record["hot_seats"][0]["challenge"] == "[erased]"
    stored = str(await w.db["sessions"].find_one({"_id": sid}))
    steps = str(await w.db["action_steps"].find().to_list())
    feedback = str(await w.db["feedback"].find().to_list())
    notes = await w.db["private_notes"].count_documents({})
    for text in (stored, steps, feedback):
        assert "SECRET-" not in text, text
    assert notes == 0
    assert "PARTNER-WORDS" in steps  # the partner's own words are not the erased person's
    assert "Ada" not in str(await w.db["employees"].find().to_list())
    [dropped] = await w.wait_events("roundtable.sessions.action.dropped")
    assert dropped["data"]["reason"] == "owner_erased"
    assert len(await w.events("roundtable.sessions.feedback.submitted")) == 1


# --- the invitees of upcoming sessions follow the group --------------------------------------

RESCHEDULED = "roundtable.sessions.session.rescheduled"


async def invitees(w: World, session_id: str) -> list[str]:
    response = await w.client.get(f"/v1/sessions/{session_id}", headers=w.auth("e-1"))
    assert response.status_code == 200, response.text
    found: list[str] = response.json()["invited_ids"]
    return found


async def test_a_group_change_reinvites_upcoming_sessions_once_and_ignores_a_late_copy(
    group_world: World,
) -> None:
    w = group_world
    held = await w.held_session("g-1", "e-1", ["e-1", "e-2", "e-3"])
    upcoming = await w.schedule("g-1", "e-1", in_days=3)
    cancelled = await w.schedule("g-1", "e-1", in_days=4)
    assert (
        await w.client.post(
            f"/v1/sessions/{cancelled['id']}/cancel", json={}, headers=w.auth("e-1")
        )
    ).status_code == 200
    # e-3 leaves, e-4 joins.
    change = await w.publish(changed(["e-1", "e-2", "e-4"]), subject="g-1", version=2)
    [event] = await w.wait_events(RESCHEDULED)
    assert event["subject"] == upcoming["id"]
    assert event["data"]["attendee_ids"] == ["e-1", "e-2", "e-4"]
    assert event["data"]["starts_at"] == event["data"]["previous_starts_at"]
    assert await invitees(w, upcoming["id"]) == ["e-1", "e-2", "e-4"]
    # Redelivered (past the duplicate window), then the older copy arriving late.
    await w.redeliver(change, msg_id="again-4")
    await w.publish(changed(["e-1", "e-2", "e-3"]), subject="g-1", version=1)
    await w.form_group("g-m", ["e-7", "e-8"])  # a marker: everything before it was handled
    assert len(await w.events(RESCHEDULED)) == 1
    assert await invitees(w, upcoming["id"]) == ["e-1", "e-2", "e-4"]
    # What was held or cancelled keeps the people it had.
    assert await invitees(w, held["id"]) == ["e-1", "e-2", "e-3"]
    assert await invitees(w, cancelled["id"]) == ["e-1", "e-2", "e-3"]
    # The joiner may now record the upcoming session's attendance; the leaver may not see it.
    assert (
        await w.client.get(f"/v1/sessions/{upcoming['id']}", headers=w.auth("e-4"))
    ).status_code == 200
    assert_problem(await w.client.get(f"/v1/sessions/{upcoming['id']}", headers=w.auth("e-3")), 403)


async def test_a_withdrawal_uninvites_even_when_it_comes_before_the_group_change(
    group_world: World,
) -> None:
    w = group_world
    upcoming = await w.schedule("g-1", "e-1", in_days=2)
    withdrawal = await w.publish(
        ParticipantWithdrawn(
            participant_id="par-e-3",
            program_id="prg_1",
            employee_id="e-3",
            group_id="g-1",
            reason="self",
            withdrawn_at=NOW,
        ),
        subject="par-e-3",
        version=2,
    )
    [event] = await w.wait_events(RESCHEDULED)
    assert event["data"]["attendee_ids"] == ["e-1", "e-2"]
    # The change that follows the withdrawal (and the withdrawal again) change nothing more.
    await w.publish(changed(["e-1", "e-2"]), subject="g-1", version=2)
    await w.redeliver(withdrawal, msg_id="again-5")
    await w.form_group("g-n", ["e-7", "e-8"])
    assert len(await w.events(RESCHEDULED)) == 1
    assert await invitees(w, upcoming["id"]) == ["e-1", "e-2"]


async def test_an_erased_person_is_uninvited_and_a_later_copy_does_not_bring_them_back(
    group_world: World,
) -> None:
    w = group_world
    upcoming = await w.schedule("g-1", "e-1", in_days=2)
    erased = await w.publish(
        EmployeeErased(employee_id="e-2", erased_at=NOW), subject="e-2", version=2
    )
    [event] = await w.wait_events(RESCHEDULED)
    assert event["data"]["attendee_ids"] == ["e-1", "e-3"]
    # A copy of the group still listing them (enrollment's own change may be later), and the
    # erasure again: nothing changes.
    await w.publish(changed(["e-1", "e-2", "e-3"]), subject="g-1", version=3)
    await w.group_at("g-1", 3)
    await w.redeliver(erased, msg_id="again-6")
    await w.form_group("g-o", ["e-7", "e-8"])
    assert len(await w.events(RESCHEDULED)) == 1
    assert await invitees(w, upcoming["id"]) == ["e-1", "e-3"]


async def test_an_erasure_before_the_group_is_formed_keeps_the_person_out(world: World) -> None:
    w = world
    await w.publish(EmployeeErased(employee_id="e-2", erased_at=NOW), subject="e-2", version=2)
    assert await eventually(lambda: w.db["employees"].find_one({"_id": "e-2", "erased": True}))
    await w.form_group("g-1", ["e-1", "e-2", "e-3"])
    session = await w.schedule("g-1", "e-1")
    assert session["invited_ids"] == ["e-1", "e-3"]


async def test_a_cached_group_copy_is_read_again_once_it_expires(group_world: World) -> None:
    """What another replica's consumer changed is seen within the cache's lifetime."""
    w = group_world
    now = [0.0]
    groups = GroupRepository(w.db, cache_seconds=2.0, monotonic=lambda: now[0])
    before = await groups.get("g-1")
    assert before is not None and before.member_ids == ["e-1", "e-2", "e-3"]
    await w.db["groups"].update_one(
        {"_id": "g-1"}, {"$addToSet": {"withdrawn_participants": "par-e-2"}}
    )
    assert await groups.get("g-1") == before
    now[0] = 2.5
    after = await groups.get("g-1")
    assert after is not None and after.member_ids == ["e-1", "e-3"]
    # The replica that stores a change forgets its copy at once.
    await groups.store_withdrawal("g-1", "par-e-3")
    refreshed = await groups.get("g-1")
    assert refreshed is not None and refreshed.member_ids == ["e-1"]


class NewerCopyMeanwhile:
    """The groups collection, where a newer copy of the group (still naming everyone) is stored
    between the erasure's read and its first version-guarded write, which then misses."""

    def __init__(self, groups: GroupRepository) -> None:
        self.real = groups.collection
        self.raced = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    async def update_one(self, query: dict[str, object], *args: object, **kwargs: object) -> object:
        if not self.raced and "version" in query:
            self.raced = True
            await self.real.update_one({"_id": query["_id"]}, {"$inc": {"version": 1}})
        return await self.real.update_one(query, *args, **kwargs)


async def test_an_erasure_drops_the_name_from_a_copy_that_changed_while_it_ran(
    world: World,
) -> None:
    w = world
    await w.form_group("g-1", ["e-1", "e-2"])
    groups = GroupRepository(w.db, cache_seconds=0)
    groups.collection = NewerCopyMeanwhile(groups)  # type: ignore[assignment]

    assert await groups.pseudonymise("e-2") == ["g-1"]

    stored = await w.db["groups"].find_one({"_id": "g-1"})
    assert stored is not None and stored["version"] == 2  # the newer copy did come in between
    names = {m["employee_id"]: m["display_name"] for m in stored["members"]}
    assert names == {"e-1": "Name e-1", "e-2": None}
    assert stored["erased_employees"] == ["e-2"]
