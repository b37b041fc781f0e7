"""The schedule handlers' rules, over in-memory repositories (see conftest.py): which reminders an
event stores, replaces, holds or cancels. What needs the servers (claims of what is due,
delivery, the consumers' redelivery) is tested against them in the tests beside this folder."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reminders.schedule.domain import ProgramRules, nudges
from roundtable_dev.testing.reminders_fakes import Schedule
from roundtable_shared.events.catalogue.enrollment import (
    ParticipantEnrolled,
    ParticipantPaused,
    ParticipantResumed,
    ParticipantWithdrawn,
    PauseReason,
    WithdrawReason,
)
from roundtable_shared.events.catalogue.sessions import (
    ActionCommitted,
    SessionRescheduled,
    SessionScheduled,
)
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope

PROGRAM = "prg_1"


def envelope(data: EventData, version: int = 1) -> Envelope:
    return new_envelope(data, subject="x", aggregate_version=version, source="/test")


def session(s: Schedule, hours_ahead: float, **fields: Any) -> dict[str, Any]:
    starts = s.clock.now + timedelta(hours=hours_ahead)
    return {
        "session_id": "ses_1",
        "group_id": "grp_1",
        "program_id": PROGRAM,
        "title": "Peer coaching",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=1),
        "time_zone": "Europe/Berlin",
        "attendee_ids": ["emp_a", "emp_b"],
        **fields,
    }


def action_step(s: Schedule, hours_ahead: float) -> ActionCommitted:
    return ActionCommitted(
        action_id="act_1",
        session_id="ses_1",
        group_id="grp_1",
        program_id=PROGRAM,
        owner_id="emp_a",
        accountability_partner_id="emp_b",
        title="Book a 1:1",
        due_at=s.clock.now + timedelta(hours=hours_ahead),
        committed_at=s.clock.now,
    )


def participant(employee_id: str) -> dict[str, Any]:
    return {
        "participant_id": f"par_{employee_id}",
        "program_id": PROGRAM,
        "employee_id": employee_id,
    }


async def test_a_rescheduled_session_replaces_its_earlier_reminders(schedule: Schedule) -> None:
    first = SessionScheduled(**session(schedule, 48))
    await schedule.service.session_scheduled(envelope(first, 1), first)
    assert len(schedule.reminders.where(kind="session_upcoming", status="pending")) == 4
    moved = SessionRescheduled(**session(schedule, 72), previous_starts_at=first.starts_at)
    await schedule.service.session_scheduled(envelope(moved, 2), moved)
    old = schedule.reminders.where(source_version=1)
    assert {d["status"] for d in old} == {"cancelled"}
    assert {d["cancel_reason"] for d in old} == {"session_rescheduled"}
    new = schedule.reminders.where(source_version=2, status="pending")
    assert {d["due_at"] for d in new} == {
        moved.starts_at - timedelta(minutes=m) for m in ProgramRules().before_session_minutes
    }
    # The first schedule delivered again, late: stale, changes nothing.
    await schedule.service.session_scheduled(envelope(first, 1), first)
    assert schedule.reminders.where(source_version=1, status="pending") == []


async def test_a_paused_participants_reminders_are_held_and_released_on_resuming(
    schedule: Schedule,
) -> None:
    data = SessionScheduled(**session(schedule, 48))
    await schedule.service.session_scheduled(envelope(data), data)
    paused = ParticipantPaused(
        **participant("emp_a"), reason=PauseReason.ON_LEAVE, paused_at=schedule.clock.now
    )
    await schedule.service.participant_paused(envelope(paused, 2), paused)
    assert {d["status"] for d in schedule.reminders.where(recipient_id="emp_a")} == {"held"}
    assert {d["status"] for d in schedule.reminders.where(recipient_id="emp_b")} == {"pending"}
    # What is planned for them while paused is stored held too.
    step = action_step(schedule, 72)
    await schedule.service.action_committed(envelope(step), step)
    owner_steps = schedule.reminders.where(recipient_id="emp_a", action_id="act_1")
    assert owner_steps and {d["status"] for d in owner_steps} == {"held"}
    # Back after two days: the 1-hour reminder is still ahead and keeps its time; the 24-hour
    # one's moment passed while they were away and is dropped; a welcome back is planned.
    schedule.clock.now += timedelta(hours=30)
    resumed = ParticipantResumed(**participant("emp_a"), resumed_at=schedule.clock.now)
    await schedule.service.participant_resumed(envelope(resumed, 3), resumed)
    sessions = {
        d["context"]["minutes_before"]: d
        for d in schedule.reminders.where(recipient_id="emp_a", kind="session_upcoming")
    }
    assert sessions[60]["status"] == "pending"
    assert sessions[60]["next_at"] == data.starts_at - timedelta(hours=1)
    assert sessions[1440]["status"] == "cancelled"
    assert schedule.reminders.where(recipient_id="emp_a", kind="welcome_back", status="pending")


async def test_a_pause_older_than_the_resumption_we_know_of_holds_nothing(
    schedule: Schedule,
) -> None:
    resumed = ParticipantResumed(**participant("emp_a"), resumed_at=schedule.clock.now)
    await schedule.service.participant_resumed(envelope(resumed, 3), resumed)
    data = SessionScheduled(**session(schedule, 48))
    await schedule.service.session_scheduled(envelope(data), data)
    late_pause = ParticipantPaused(
        **participant("emp_a"), reason=PauseReason.SELF, paused_at=schedule.clock.now
    )
    await schedule.service.participant_paused(envelope(late_pause, 2), late_pause)
    assert schedule.reminders.where(recipient_id="emp_a", status="held") == []


async def test_a_withdrawn_participants_reminders_are_cancelled_and_no_one_elses(
    schedule: Schedule,
) -> None:
    data = SessionScheduled(**session(schedule, 48))
    await schedule.service.session_scheduled(envelope(data), data)
    withdrawn = ParticipantWithdrawn(
        **participant("emp_a"), reason=WithdrawReason.SELF, withdrawn_at=schedule.clock.now
    )
    await schedule.service.participant_withdrawn(envelope(withdrawn, 2), withdrawn)
    mine = schedule.reminders.where(recipient_id="emp_a")
    assert mine and {d["cancel_reason"] for d in mine} == {"participant_withdrawn"}
    assert {d["status"] for d in schedule.reminders.where(recipient_id="emp_b")} == {"pending"}


async def test_scheduling_a_session_cancels_the_groups_nudge_and_a_step_the_record_prompt(
    schedule: Schedule,
) -> None:
    enrolled = ParticipantEnrolled(
        **participant("emp_a"), consent_to_reporting=False, enrolled_at=schedule.clock.now
    )
    await schedule.service.participant_enrolled(envelope(enrolled), enrolled)
    await schedule.reminders.add(
        nudges("grp_1", PROGRAM, ["emp_a"], schedule.clock.now, ProgramRules(), "formed"),
        schedule.clock.now,
    )
    data = SessionScheduled(**session(schedule, 48))
    await schedule.service.session_scheduled(envelope(data), data)
    nudge = schedule.reminders.where(kind="schedule_next_session")
    assert [d["cancel_reason"] for d in nudge] == ["session_scheduled"]
    # The welcome is due now: the worker was woken for it.
    assert schedule.reminders.where(kind="welcome", status="pending")
    assert schedule.nudges == [schedule.clock.now]


async def test_a_step_committed_after_its_reminders_passed_is_reminded_at_once_like_a_session(
    schedule: Schedule,
) -> None:
    """One rule for both: every advance reminder already past when planned, the thing itself
    still ahead: the latest passed one goes at once, the earlier ones are dropped."""
    soon = SessionScheduled(**session(schedule, 0.5))  # the 1-hour reminder passed 30 min ago
    await schedule.service.session_scheduled(envelope(soon), soon)
    step = action_step(schedule, 3)  # its due-day reminder (8 h before) passed 5 h ago
    await schedule.service.action_committed(envelope(step), step)
    due_now = {
        (d["kind"], d["recipient_id"]): d
        for d in schedule.reminders.where(status="pending")
        if d["next_at"] <= schedule.clock.now
    }
    assert set(due_now) == {
        ("session_upcoming", "emp_a"),
        ("session_upcoming", "emp_b"),
        ("action_due", "emp_a"),
    }
    assert due_now["session_upcoming", "emp_a"]["context"]["minutes_before"] == 60
    assert due_now["action_due", "emp_a"]["context"]["hours_before"] == 8
    # The earlier ones (24 h before the session, 48 h before the step) were not stored.
    assert len(schedule.reminders.where(kind="session_upcoming", recipient_id="emp_a")) == 1
    assert len(schedule.reminders.where(kind="action_due")) == 1
    assert schedule.nudges  # the worker is woken for them


async def test_nothing_is_sent_ahead_of_a_moment_that_has_already_passed(
    schedule: Schedule,
) -> None:
    gone = SessionScheduled(**session(schedule, -0.5))
    await schedule.service.session_scheduled(envelope(gone), gone)
    step = action_step(schedule, -1)
    await schedule.service.action_committed(envelope(step), step)
    assert schedule.reminders.where(kind="session_upcoming") == []
    assert schedule.reminders.where(kind="action_due") == []
    # The step's overdue reminders are still ahead.
    assert (
        len(schedule.reminders.where(kind={"$in": ["action_overdue", "action_overdue_owner"]})) == 2
    )
