"""Scheduling's handlers over in-memory repositories: who plans a session, when, and who is
invited as the group changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from roundtable_shared.events.catalogue.enrollment import DissolveReason, GroupDissolved
from roundtable_shared.events.catalogue.sessions import (
    SessionCancelled,
    SessionRescheduled,
    SessionScheduled,
)
from roundtable_shared.http.problems import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)
from sessions.scheduling.domain import Session, SessionStatus
from sessions.scheduling.schemas import RescheduleRequest, ScheduleRequest


def plan(fakes: Any, *, in_hours: float = 24, minutes: int = 90) -> ScheduleRequest:
    return ScheduleRequest(
        starts_at=fakes.clock() + timedelta(hours=in_hours),
        time_zone="Europe/Berlin",
        duration_minutes=minutes,
        agenda="Two hot seats",
    )


async def scheduled(fakes: Any, by: str = "a") -> Session:
    await fakes.form_group("g-1", "abc")
    session: Session = await fakes.scheduling.schedule("g-1", plan(fakes), fakes.member(by), None)
    return session


async def test_a_member_schedules_a_session_for_the_whole_group(fakes: Any) -> None:
    session = await scheduled(fakes)
    assert session.invited_ids == ["a", "b", "c"]
    assert session.ends_at - session.starts_at == timedelta(minutes=90)
    assert fakes.sessions.documents[session.id]["scheduled_by"] == "a"
    [event] = fakes.sessions.raised(SessionScheduled)
    assert event.attendee_ids == ["a", "b", "c"] and event.starts_at == session.starts_at


async def test_a_non_member_may_not_schedule(fakes: Any) -> None:
    await fakes.form_group("g-1", "abc")
    with pytest.raises(Forbidden):
        await fakes.scheduling.schedule("g-1", plan(fakes), fakes.member("z"), None)
    assert fakes.sessions.documents == {}


async def test_a_session_cannot_start_in_the_past(fakes: Any) -> None:
    await fakes.form_group("g-1", "abc")
    with pytest.raises(Unprocessable):
        await fakes.scheduling.schedule("g-1", plan(fakes, in_hours=-1), fakes.member("a"), None)
    assert fakes.sessions.documents == {}


async def test_a_retried_schedule_answers_with_the_first_session_even_once_its_start_passed(
    fakes: Any,
) -> None:
    await fakes.form_group("g-1", "abc")
    request = plan(fakes, in_hours=1)
    first = await fakes.scheduling.schedule("g-1", request, fakes.member("a"), "key-1")
    fakes.clock.advance(hours=2)
    again = await fakes.scheduling.schedule("g-1", request, fakes.member("a"), "key-1")
    assert again.id == first.id and len(fakes.sessions.documents) == 1
    assert len(fakes.sessions.raised(SessionScheduled)) == 1


async def test_another_member_reschedules_keeping_the_duration(fakes: Any) -> None:
    session = await scheduled(fakes)
    later = session.starts_at + timedelta(days=2)
    moved = await fakes.scheduling.reschedule(
        session.id, RescheduleRequest(starts_at=later), fakes.member("b"), session.version
    )
    assert (moved.starts_at, moved.ends_at) == (later, later + timedelta(minutes=90))
    assert moved.agenda == "Two hot seats" and moved.version == session.version + 1
    [event] = fakes.sessions.raised(SessionRescheduled)
    assert event.previous_starts_at == session.starts_at and event.starts_at == later


async def test_a_reschedule_of_a_stale_version_or_into_the_past_is_refused(fakes: Any) -> None:
    session = await scheduled(fakes)
    earlier = RescheduleRequest(starts_at=fakes.clock() - timedelta(hours=1))
    with pytest.raises(Unprocessable):
        await fakes.scheduling.reschedule(session.id, earlier, fakes.member("a"), session.version)
    title = RescheduleRequest(title="New title")
    with pytest.raises(PreconditionFailed):
        await fakes.scheduling.reschedule(session.id, title, fakes.member("a"), session.version + 1)
    with pytest.raises(Forbidden):
        await fakes.scheduling.reschedule(session.id, title, fakes.member("z"), session.version)
    assert fakes.sessions.raised(SessionRescheduled) == []


async def test_a_member_cancels_once(fakes: Any) -> None:
    session = await scheduled(fakes)
    cancelled = await fakes.scheduling.cancel(session.id, "Holiday", fakes.member("c"), None)
    assert cancelled.status is SessionStatus.CANCELLED
    assert cancelled.cancellation is not None and cancelled.cancellation.by == "c"
    [event] = fakes.sessions.raised(SessionCancelled)
    assert event.cancelled_by == "c" and event.cancelled_at == fakes.clock()
    with pytest.raises(Conflict):
        await fakes.scheduling.cancel(session.id, None, fakes.member("c"), None)
    with pytest.raises(Forbidden):
        await fakes.scheduling.cancel(session.id, None, fakes.member("z"), None)


async def test_a_group_change_reinvites_to_upcoming_sessions_once(fakes: Any) -> None:
    session = await scheduled(fakes)
    fakes.clock.advance(hours=1)
    await fakes.change_group("g-1", "abd", version=2, added="d", removed="c")
    stored = await fakes.scheduling.load(session.id)
    assert stored.invited_ids == ["a", "b", "d"]
    [event] = fakes.sessions.raised(SessionRescheduled)
    # Same session, new people: the start does not move.
    assert event.attendee_ids == ["a", "b", "d"]
    assert event.starts_at == event.previous_starts_at == session.starts_at
    # The event delivered again changes nothing.
    await fakes.change_group("g-1", "abd", version=2, added="d", removed="c")
    assert len(fakes.sessions.raised(SessionRescheduled)) == 1


async def test_a_group_change_leaves_started_sessions_as_they_were(fakes: Any) -> None:
    session = await scheduled(fakes)
    fakes.clock.advance(hours=25)  # it has started
    await fakes.change_group("g-1", "abd", version=2, added="d", removed="c")
    assert (await fakes.scheduling.load(session.id)).invited_ids == ["a", "b", "c"]
    assert fakes.sessions.raised(SessionRescheduled) == []


async def test_a_dissolved_group_no_longer_meets(fakes: Any) -> None:
    session = await scheduled(fakes)
    dissolved = GroupDissolved(
        group_id="g-1",
        program_id="p-1",
        reason=DissolveReason.PROGRAM_CLOSED,
        dissolved_at=fakes.clock(),
    )
    await fakes.membership.group_dissolved(2, dissolved)
    assert await fakes.scheduling.cancel_upcoming_of_dissolved_group("g-1") == 1
    assert (await fakes.scheduling.load(session.id)).status is SessionStatus.CANCELLED
    assert await fakes.scheduling.cancel_upcoming_of_dissolved_group("g-1") == 0
    with pytest.raises(Conflict):
        await fakes.scheduling.schedule("g-1", plan(fakes), fakes.member("a"), None)


async def test_a_calendar_feed_holds_only_the_sessions_of_the_person_s_time(fakes: Any) -> None:
    await fakes.form_group("g-1", "abc")
    earlier = ScheduleRequest(
        starts_at=fakes.clock() + timedelta(hours=1),
        time_zone="UTC",
        duration_minutes=60,
        location="Room 4.12",
    )
    held = await fakes.scheduling.schedule("g-1", earlier, fakes.member("a"), None)
    fakes.clock.advance(days=2)
    await fakes.change_group("g-1", "abcd", version=2, added="d")
    later = await fakes.scheduling.schedule("g-1", plan(fakes), fakes.member("d"), None)

    newcomer = await fakes.scheduling.feed(await fakes.scheduling.new_feed(fakes.member("d")))
    assert later.id.encode() in newcomer and held.id.encode() not in newcomer
    assert b"Room 4.12" not in newcomer
    token = await fakes.scheduling.new_feed(fakes.member("a"))
    assert held.id.encode() in await fakes.scheduling.feed(token)
    # The session's own calendar file is refused to the newcomer too.
    with pytest.raises(Forbidden):
        await fakes.scheduling.ics(held.id, fakes.member("d"))
    # A feed revoked (or replaced by a new one) answers no more.
    assert await fakes.scheduling.revoke_feed("a")
    with pytest.raises(NotFound):
        await fakes.scheduling.feed(token)
