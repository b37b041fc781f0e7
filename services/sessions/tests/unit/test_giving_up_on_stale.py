"""A change that keeps finding its aggregate changed by someone else: retried on a fresh read a
bounded number of times (``until_saved``), then given up with ``StillStale`` (a 409 over HTTP, a
redelivery for a consumer) and nothing of it written; the redelivery applies it once."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from roundtable_shared.events.catalogue.sessions import (
    ActionDropped,
    SessionCancelled,
    SessionRescheduled,
)
from roundtable_shared.storage.retry import ATTEMPTS, StillStale
from sessions.action_steps.schemas import CommitRequest
from sessions.conversations.schemas import HotSeatIn, RecordRequest
from sessions.scheduling.domain import Session, SessionStatus
from sessions.scheduling.schemas import ScheduleRequest

ALWAYS = 1_000


async def upcoming(fakes: Any) -> Session:
    await fakes.form_group("g-1", "abc")
    request = ScheduleRequest(
        starts_at=fakes.clock() + timedelta(days=1), time_zone="UTC", duration_minutes=60
    )
    session: Session = await fakes.scheduling.schedule("g-1", request, fakes.member("a"), None)
    return session


async def held(fakes: Any) -> str:
    await fakes.form_group("g-1", "abc")
    request = ScheduleRequest(
        starts_at=fakes.clock() + timedelta(hours=1), time_zone="UTC", duration_minutes=60
    )
    session = await fakes.scheduling.schedule("g-1", request, fakes.member("a"), None)
    fakes.clock.advance(hours=3)
    seat = HotSeatIn(employee_id="b", challenge="Leading my first team")
    record = RecordRequest(attendee_ids=["a", "b", "c"], hot_seats=[seat])
    await fakes.conversations.record(session.id, record, fakes.member("a"))
    return str(session.id)


def but_version(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in copy.deepcopy(document).items() if k != "version"}


async def test_a_reinvite_that_keeps_losing_gives_up_writes_nothing_and_lands_on_redelivery(
    fakes: Any,
) -> None:
    session = await upcoming(fakes)
    before = but_version(fakes.sessions.documents[session.id])
    fakes.sessions.rivals = ALWAYS

    # Enrollment added d; the consumer's reinvite loses every race.
    with pytest.raises(StillStale, match=f"session {session.id} kept changing"):
        await fakes.change_group("g-1", "abcd", version=2, added="d")

    assert ALWAYS - fakes.sessions.rivals == ATTEMPTS  # bounded, not a loop without end
    assert but_version(fakes.sessions.documents[session.id]) == before
    assert fakes.sessions.raised(SessionRescheduled) == []
    # The event comes back (a failed delivery is redelivered) when the races are over.
    fakes.sessions.rivals = 0
    assert await fakes.scheduling.reinvite_upcoming("g-1") == 1
    assert fakes.sessions.documents[session.id]["invited_ids"] == ["a", "b", "c", "d"]
    [event] = fakes.sessions.raised(SessionRescheduled)
    assert event.attendee_ids == ["a", "b", "c", "d"]
    assert await fakes.scheduling.reinvite_upcoming("g-1") == 0  # and only once


async def test_a_cancel_without_if_match_is_decided_again_and_gives_up_with_nothing_written(
    fakes: Any,
) -> None:
    session = await upcoming(fakes)
    fakes.sessions.rivals = ALWAYS
    with pytest.raises(StillStale):
        await fakes.scheduling.cancel(session.id, "offsite", fakes.member("b"), None)
    stored = fakes.sessions.documents[session.id]
    assert stored["status"] == SessionStatus.SCHEDULED.value and stored["cancellation"] is None
    assert fakes.sessions.raised(SessionCancelled) == []

    # Two writers get there first: the third attempt, on a fresh read, cancels it.
    fakes.sessions.rivals = 2
    cancelled = await fakes.scheduling.cancel(session.id, "offsite", fakes.member("b"), None)
    assert cancelled.status is SessionStatus.CANCELLED
    assert cancelled.version == fakes.sessions.documents[session.id]["version"]
    assert len(fakes.sessions.raised(SessionCancelled)) == 1


async def test_an_erasure_that_keeps_losing_leaves_the_record_whole_until_redelivered(
    fakes: Any,
) -> None:
    session_id = await held(fakes)
    before = but_version(fakes.sessions.documents[session_id])
    fakes.sessions.rivals = ALWAYS
    with pytest.raises(StillStale):
        await fakes.conversations.erase("b")
    assert but_version(fakes.sessions.documents[session_id]) == before

    fakes.sessions.rivals = 0
    await fakes.conversations.erase("b")
    [seat] = fakes.sessions.documents[session_id]["record"]["hot_seats"]
    assert seat["challenge"] == "[erased]"


async def test_a_withdrawn_owner_s_step_stays_open_when_dropping_it_gives_up(fakes: Any) -> None:
    session_id = await held(fakes)
    request = CommitRequest(
        accountability_partner_id="b", title="Book the 1:1", due_on=fakes.tomorrow()
    )
    step = await fakes.actions.commit(session_id, request, fakes.member("a"), None)
    fakes.steps.rivals = ALWAYS
    with pytest.raises(StillStale):
        await fakes.actions.owner_withdrew("a", "g-1")
    assert fakes.steps.documents[step.id]["status"] == "open"
    assert fakes.steps.raised(ActionDropped) == []

    fakes.steps.rivals = 0
    await fakes.actions.owner_withdrew("a", "g-1")
    await fakes.actions.owner_withdrew("a", "g-1")  # a redelivery changes nothing more
    assert fakes.steps.documents[step.id]["status"] == "dropped"
    assert len(fakes.steps.raised(ActionDropped)) == 1


async def test_a_comment_is_retried_on_a_fresh_read_and_given_up_unwritten(fakes: Any) -> None:
    session_id = await held(fakes)
    request = CommitRequest(
        accountability_partner_id="b", title="Book the 1:1", due_on=fakes.tomorrow()
    )
    step = await fakes.actions.commit(session_id, request, fakes.member("a"), None)
    fakes.steps.rivals = ALWAYS
    with pytest.raises(StillStale):
        await fakes.actions.comment(step.id, "How did it go?", fakes.member("b"))
    assert fakes.steps.documents[step.id]["comments"] == []

    fakes.steps.rivals = 3
    commented = await fakes.actions.comment(step.id, "How did it go?", fakes.member("b"))
    assert [c.text for c in commented.comments] == ["How did it go?"]
