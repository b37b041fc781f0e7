"""Enrollment's events, through the consumer's handlers, over in-memory repositories: the copy
of a group follows them in any order, and the sessions and action steps follow the copy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from roundtable_shared.events.catalogue.enrollment import (
    GroupChanged,
    GroupChangeReason,
    GroupMember,
    ParticipantWithdrawn,
    WithdrawReason,
)
from roundtable_shared.events.catalogue.sessions import ActionDropReason, SessionRescheduled
from roundtable_shared.events.envelope import EventData, new_envelope
from roundtable_shared.messaging.consumer import EventHandler
from sessions.action_steps.domain import ActionStatus
from sessions.action_steps.schemas import CommitRequest
from sessions.conversations.schemas import RecordRequest
from sessions.membership import consumers
from sessions.scheduling.schemas import ScheduleRequest


def handlers(fakes: Any) -> dict[str, EventHandler]:
    return consumers.handlers(fakes.membership, fakes.scheduling, fakes.actions)


async def deliver(fakes: Any, data: EventData, *, subject: str, version: int) -> None:
    envelope = new_envelope(
        data, subject=subject, aggregate_version=version, source="/roundtable/enrollment"
    )
    await handlers(fakes)[envelope.type](envelope, data)


def changed(fakes: Any, members: str, **change: list[str]) -> GroupChanged:
    return GroupChanged(
        group_id="g-1",
        program_id="p-1",
        name="Roundtable g-1",
        members=[
            GroupMember(employee_id=e, participant_id=f"par-{e}", display_name=e) for e in members
        ],
        reason=GroupChangeReason.ADMIN,
        changed_at=fakes.clock(),
        **change,
    )


async def upcoming(fakes: Any) -> str:
    request = ScheduleRequest(
        starts_at=fakes.clock() + timedelta(days=3), time_zone="UTC", duration_minutes=60
    )
    return str((await fakes.scheduling.schedule("g-1", request, fakes.member("a"), None)).id)


async def test_a_late_older_change_does_not_undo_a_newer_one(fakes: Any) -> None:
    await fakes.form_group("g-1", "abc")
    session_id = await upcoming(fakes)
    fakes.clock.advance(hours=1)
    newer = changed(fakes, "abcd", added_employee_ids=["d"])
    older = changed(fakes, "ab", removed_employee_ids=["c"])
    await deliver(fakes, newer, subject="g-1", version=3)
    await deliver(fakes, older, subject="g-1", version=2)
    assert (await fakes.scheduling.load(session_id)).invited_ids == ["a", "b", "c", "d"]
    assert len(fakes.sessions.raised(SessionRescheduled)) == 1


async def test_a_withdrawn_member_is_uninvited_and_their_open_steps_dropped(fakes: Any) -> None:
    await fakes.form_group("g-1", "abc")
    request = ScheduleRequest(
        starts_at=fakes.clock() + timedelta(hours=1), time_zone="UTC", duration_minutes=60
    )
    held = await fakes.scheduling.schedule("g-1", request, fakes.member("a"), None)
    fakes.clock.advance(hours=3)
    await fakes.conversations.record(
        held.id, RecordRequest(attendee_ids=["a", "b", "c"]), fakes.member("a")
    )
    commit = CommitRequest(
        accountability_partner_id="a", title="Ask for the budget", due_on=fakes.tomorrow()
    )
    step = await fakes.actions.commit(held.id, commit, fakes.member("c"), None)
    session_id = await upcoming(fakes)

    withdrawn = ParticipantWithdrawn(
        participant_id="par-c",
        program_id="p-1",
        employee_id="c",
        group_id="g-1",
        reason=WithdrawReason.SELF,
        withdrawn_at=fakes.clock(),
    )
    for _ in range(2):  # delivered twice: the second changes nothing
        await deliver(fakes, withdrawn, subject="par-c", version=4)
    assert (await fakes.scheduling.load(session_id)).invited_ids == ["a", "b"]
    dropped = await fakes.actions.load(step.id)
    assert dropped.status is ActionStatus.DROPPED
    assert dropped.drop is not None and dropped.drop.reason is ActionDropReason.OWNER_WITHDRAWN
    assert len(fakes.sessions.raised(SessionRescheduled)) == 1
    # A late copy of the group that still lists them does not bring them back.
    await deliver(fakes, changed(fakes, "abc"), subject="g-1", version=2)
    assert (await fakes.scheduling.load(session_id)).invited_ids == ["a", "b"]
