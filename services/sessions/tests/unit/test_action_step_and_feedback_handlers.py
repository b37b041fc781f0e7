"""Action steps and feedback over in-memory repositories: the owner commits and keeps their
steps, the injected clock says what is overdue, each attendee rates a session once."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from roundtable_shared.events.catalogue.enrollment import EmployeeUpserted, EmploymentStatus
from roundtable_shared.events.catalogue.sessions import (
    ActionCommitted,
    ActionCompleted,
    ActionDropped,
    ActionDropReason,
    FeedbackSubmitted,
)
from roundtable_shared.http.problems import Conflict, Forbidden, NotFound, Unprocessable
from sessions.action_steps.domain import ActionStatus, ActionStep
from sessions.action_steps.schemas import CommitRequest
from sessions.action_steps.service import Role
from sessions.conversations.schemas import RecordRequest
from sessions.feedback.schemas import FeedbackRequest
from sessions.scheduling.schemas import ScheduleRequest


async def held_session(fakes: Any, attendees: str = "abc") -> str:
    """Group g-1 (a, b, c) met today at 09:00 UTC for 90 minutes; it was recorded."""
    await fakes.form_group("g-1", "abc")
    request = ScheduleRequest(
        starts_at=fakes.clock() + timedelta(hours=1), time_zone="UTC", duration_minutes=90
    )
    session = await fakes.scheduling.schedule("g-1", request, fakes.member("a"), None)
    fakes.clock.advance(hours=3)
    record = RecordRequest(attendee_ids=list(attendees))
    await fakes.conversations.record(session.id, record, fakes.member("a"))
    return str(session.id)


def commitment(due_on: date, owner: str | None = None, partner: str = "b") -> CommitRequest:
    return CommitRequest(
        owner_id=owner, accountability_partner_id=partner, title="Book the 1:1", due_on=due_on
    )


async def committed(fakes: Any, due_on: date | None = None) -> ActionStep:
    session_id = await held_session(fakes)
    request = commitment(due_on or fakes.tomorrow())
    step: ActionStep = await fakes.actions.commit(session_id, request, fakes.member("a"), None)
    return step


async def test_the_owner_commits_an_action_step_due_at_the_end_of_their_day(fakes: Any) -> None:
    await fakes.membership.employee_upserted(
        1,
        EmployeeUpserted(
            employee_id="a",
            display_name="A",
            email="a@example.com",
            time_zone="Asia/Tokyo",
            employment_status=EmploymentStatus.ACTIVE,
            updated_at=fakes.clock(),
        ),
    )
    step = await committed(fakes)
    assert (step.owner_id, step.accountability_partner_id, step.status) == (
        "a",
        "b",
        ActionStatus.OPEN,
    )
    # The end of the due day in the owner's zone (Tokyo, UTC+9), not the session's (UTC).
    assert step.time_zone == "Asia/Tokyo"
    assert step.due_at.isoformat() == f"{fakes.tomorrow().isoformat()}T14:59:59+00:00"
    [event] = fakes.steps.raised(ActionCommitted)
    assert event.action_id == step.id and event.committed_at == fakes.clock()


async def test_nobody_commits_for_someone_else_or_outside_a_held_session(fakes: Any) -> None:
    session_id = await held_session(fakes)
    due = fakes.tomorrow()
    with pytest.raises(Forbidden):
        await fakes.actions.commit(
            session_id, commitment(due, owner="b", partner="c"), fakes.member("a"), None
        )
    with pytest.raises(Unprocessable):
        await fakes.actions.commit(
            session_id, commitment(due, partner="a"), fakes.member("a"), None
        )
    with pytest.raises(Unprocessable):
        await fakes.actions.commit(
            session_id, commitment(due - timedelta(days=2)), fakes.member("a"), None
        )
    upcoming = await fakes.scheduling.schedule(
        "g-1",
        ScheduleRequest(
            starts_at=fakes.clock() + timedelta(days=7), time_zone="UTC", duration_minutes=60
        ),
        fakes.member("a"),
        None,
    )
    with pytest.raises(Conflict):
        await fakes.actions.commit(upcoming.id, commitment(due), fakes.member("a"), None)
    assert fakes.steps.documents == {}


async def test_the_owner_completes_a_step_once_and_the_partner_cannot(fakes: Any) -> None:
    step = await committed(fakes)
    with pytest.raises(Forbidden):
        await fakes.actions.complete(step.id, fakes.member("b"), None)
    fakes.clock.advance(hours=5)
    done = await fakes.actions.complete(step.id, fakes.member("a"), None)
    assert done.status is ActionStatus.COMPLETED and done.completed_at == fakes.clock()
    [event] = fakes.steps.raised(ActionCompleted)
    assert event.completed_at == fakes.clock()
    with pytest.raises(Conflict):
        await fakes.actions.complete(step.id, fakes.member("a"), None)
    with pytest.raises(Conflict):
        await fakes.actions.drop(step.id, "moot", fakes.member("a"), None)


async def test_only_the_owner_drops_a_step(fakes: Any) -> None:
    step = await committed(fakes)
    with pytest.raises(Forbidden):
        await fakes.actions.drop(step.id, "moot", fakes.member("b"), None)
    dropped = await fakes.actions.drop(step.id, "The reorg made it moot", fakes.member("a"), None)
    assert dropped.status is ActionStatus.DROPPED
    assert dropped.drop is not None and dropped.drop.reason is ActionDropReason.OWNER
    [event] = fakes.steps.raised(ActionDropped)
    assert event.reason is ActionDropReason.OWNER


async def test_a_withdrawn_owner_s_open_steps_are_dropped(fakes: Any) -> None:
    step = await committed(fakes)
    await fakes.actions.owner_withdrew("a", "g-1")
    assert (await fakes.actions.load(step.id)).status is ActionStatus.DROPPED
    [event] = fakes.steps.raised(ActionDropped)
    assert event.reason is ActionDropReason.OWNER_WITHDRAWN


async def test_a_step_is_overdue_once_the_injected_clock_passes_its_due_moment(
    fakes: Any,
) -> None:
    step = await committed(fakes)

    async def overdue() -> list[str]:
        steps, _ = await fakes.actions.mine(
            fakes.member("a"), Role.OWNER, None, True, fakes.first_page()
        )
        return [s.id for s in steps]

    assert await overdue() == []
    fakes.clock.now = step.due_at
    assert await overdue() == []  # due at that moment, not yet late
    fakes.clock.advance(seconds=1)
    assert await overdue() == [step.id]
    held_to_account, _ = await fakes.actions.mine(
        fakes.member("b"), Role.PARTNER, ActionStatus.OPEN, False, fakes.first_page()
    )
    assert [s.id for s in held_to_account] == [step.id]
    await fakes.actions.complete(step.id, fakes.member("a"), None)
    assert await overdue() == []


async def test_a_newcomer_does_not_see_an_earlier_session_s_steps(fakes: Any) -> None:
    step = await committed(fakes)
    fakes.clock.advance(days=1)
    await fakes.change_group("g-1", "abcd", version=2, added="d")
    with pytest.raises(Forbidden):
        await fakes.actions.visible(step.id, fakes.member("d"))
    assert await fakes.actions.of_session(step.session_id, fakes.member("d")) == []
    assert [s.id for s in await fakes.actions.of_session(step.session_id, fakes.member("c"))] == [
        step.id
    ]


async def test_each_attendee_rates_a_session_once(fakes: Any) -> None:
    session_id = await held_session(fakes, attendees="ab")
    answer = FeedbackRequest(rating=4, comment="Good questions")
    first, new = await fakes.feedback.submit(session_id, answer, fakes.member("a"))
    assert new and first.rating == 4 and first.submitted_at == fakes.clock()
    # The same answer again (a retry) is the same feedback; another answer is refused.
    again, new = await fakes.feedback.submit(session_id, answer, fakes.member("a"))
    assert not new and again.id == first.id
    with pytest.raises(Conflict):
        await fakes.feedback.submit(session_id, FeedbackRequest(rating=1), fakes.member("a"))
    assert [e.rating for e in fakes.feedback_store.raised(FeedbackSubmitted)] == [4]
    # Someone else rates it too; c was a member but did not attend.
    await fakes.feedback.submit(session_id, FeedbackRequest(rating=2), fakes.member("b"))
    with pytest.raises(Forbidden):
        await fakes.feedback.submit(session_id, FeedbackRequest(rating=5), fakes.member("c"))
    summary = await fakes.feedback.summary(session_id, fakes.admin("admin-1"))
    assert summary.model_dump() == {"session_id": session_id, "responses": 2}
    assert (await fakes.feedback.mine(session_id, fakes.member("b"))).rating == 2
    with pytest.raises(NotFound):
        await fakes.feedback.mine(session_id, fakes.member("c"))


async def test_a_session_not_yet_held_cannot_be_rated(fakes: Any) -> None:
    await fakes.form_group("g-1", "abc")
    request = ScheduleRequest(
        starts_at=fakes.clock() + timedelta(hours=1), time_zone="UTC", duration_minutes=60
    )
    session = await fakes.scheduling.schedule("g-1", request, fakes.member("a"), None)
    fakes.clock.advance(hours=3)
    with pytest.raises(Conflict):
        await fakes.feedback.submit(session.id, FeedbackRequest(rating=5), fakes.member("a"))
    assert fakes.feedback_store.documents == {}
