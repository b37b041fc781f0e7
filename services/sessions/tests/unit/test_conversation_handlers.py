"""The conversation's handlers over in-memory repositories: recording a held session,
corrections that keep history, and confidentiality over time (docs/confidentiality.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from roundtable_shared.events.catalogue.sessions import (
    SessionAttendanceCorrected,
    SessionCompleted,
)
from roundtable_shared.http.problems import (
    Conflict,
    Forbidden,
    PreconditionFailed,
    Unprocessable,
)
from sessions.conversations.schemas import HotSeatIn, RecordRequest, SharedNoteIn
from sessions.scheduling.domain import SessionStatus
from sessions.scheduling.schemas import ScheduleRequest


async def a_session(fakes: Any, members: str = "abc") -> str:
    """A session of group g-1 tomorrow, 90 minutes."""
    await fakes.form_group("g-1", members)
    request = ScheduleRequest(
        starts_at=fakes.clock() + timedelta(days=1), time_zone="UTC", duration_minutes=90
    )
    session = await fakes.scheduling.schedule("g-1", request, fakes.member("a"), None)
    return str(session.id)


def a_record(attendees: str = "abc", challenge: str = "Leading my first team") -> RecordRequest:
    return RecordRequest(
        attendee_ids=list(attendees),
        hot_seats=[HotSeatIn(employee_id=attendees[0], challenge=challenge)],
        shared_notes=[SharedNoteIn(text="Start with a check-in")],
    )


async def held(fakes: Any, members: str = "abc") -> str:
    session_id = await a_session(fakes, members)
    fakes.clock.advance(days=1, hours=2)  # it is over
    await fakes.conversations.record(session_id, a_record(members), fakes.member("b"))
    return session_id


async def test_a_member_records_a_held_session(fakes: Any) -> None:
    session_id = await held(fakes)
    out = await fakes.conversations.read(session_id, fakes.member("c"))
    assert out.attendee_ids == ["a", "b", "c"] and out.recorded_by == "b"
    assert out.hot_seats[0].challenge == "Leading my first team"
    assert out.shared_notes[0].author_id == "b"
    assert fakes.sessions.documents[session_id]["status"] == SessionStatus.HELD.value
    [event] = fakes.sessions.raised(SessionCompleted)
    assert event.attendee_ids == ["a", "b", "c"] and event.invited_count == 3


async def test_a_session_is_recorded_once_after_it_started_and_never_when_cancelled(
    fakes: Any,
) -> None:
    session_id = await a_session(fakes)
    with pytest.raises(Conflict, match="not started"):
        await fakes.conversations.record(session_id, a_record(), fakes.member("a"))
    fakes.clock.advance(days=1, hours=2)
    with pytest.raises(Forbidden):
        await fakes.conversations.record(session_id, a_record(), fakes.member("z"))
    with pytest.raises(Unprocessable):
        await fakes.conversations.record(session_id, a_record("abz"), fakes.member("a"))
    await fakes.conversations.record(session_id, a_record(), fakes.member("a"))
    with pytest.raises(Conflict, match="already recorded"):
        await fakes.conversations.record(session_id, a_record(), fakes.member("a"))
    assert len(fakes.sessions.raised(SessionCompleted)) == 1

    cancelled = await a_session(fakes)
    await fakes.scheduling.cancel(cancelled, None, fakes.member("a"), None)
    fakes.clock.advance(days=1, hours=2)
    with pytest.raises(Conflict, match="cancelled"):
        await fakes.conversations.record(cancelled, a_record(), fakes.member("a"))


async def test_a_correction_keeps_the_record_it_replaces(fakes: Any) -> None:
    session_id = await held(fakes)
    version = fakes.sessions.documents[session_id]["version"]
    fakes.clock.advance(hours=1)
    # b keeps their own note (a note is its author's: only they change or remove it).
    note_id = (await fakes.conversations.read(session_id, fakes.member("a"))).shared_notes[0]
    correction = RecordRequest(
        attendee_ids=["a", "b"],
        hot_seats=[HotSeatIn(employee_id="a", challenge="Leading a team of five")],
        shared_notes=[SharedNoteIn(note_id=note_id.note_id, text=note_id.text)],
    )
    out = await fakes.conversations.correct(session_id, correction, fakes.member("c"), version)
    assert out.hot_seats[0].challenge == "Leading a team of five"
    assert (out.edited_by, out.edited_at, out.recorded_by) == ("c", fakes.clock(), "b")
    [before] = await fakes.conversations.history(session_id, fakes.member("a"))
    assert before.version == version and before.replaced_by == "c"
    assert before.record.hot_seats[0].challenge == "Leading my first team"
    # Attendance changed: reporting hears of it.
    [event] = fakes.sessions.raised(SessionAttendanceCorrected)
    assert event.attendee_ids == ["a", "b"]
    with pytest.raises(PreconditionFailed):
        await fakes.conversations.correct(session_id, correction, fakes.member("c"), version)


async def test_only_its_author_changes_a_shared_note(fakes: Any) -> None:
    session_id = await held(fakes)
    version = fakes.sessions.documents[session_id]["version"]
    without_notes = RecordRequest(attendee_ids=["a", "b", "c"])
    with pytest.raises(Forbidden):
        await fakes.conversations.correct(session_id, without_notes, fakes.member("a"), version)
    assert fakes.sessions.documents[session_id]["version"] == version


async def test_who_joined_after_the_session_does_not_read_or_write_it(fakes: Any) -> None:
    session_id = await held(fakes)
    fakes.clock.advance(days=1)
    await fakes.change_group("g-1", "abcd", version=2, added="d")
    # d is a member now, and sees that the session was, but not what was said in it.
    _, sees_content, attendees, _ = await fakes.scheduling.visible(session_id, fakes.member("d"))
    assert not sees_content and attendees == ["a", "b", "c"]
    for read in (fakes.conversations.read, fakes.conversations.history):
        with pytest.raises(Forbidden):
            await read(session_id, fakes.member("d"))
    version = fakes.sessions.documents[session_id]["version"]
    with pytest.raises(Forbidden):
        await fakes.conversations.correct(session_id, a_record(), fakes.member("d"), version)
    with pytest.raises(Forbidden):
        await fakes.conversations.share(session_id, fakes.member("d"), agree=True)
    # Those who were there still read it.
    assert (await fakes.conversations.read(session_id, fakes.member("a"))).attendee_ids


async def test_who_left_the_group_reads_nothing_of_it(fakes: Any) -> None:
    session_id = await held(fakes)
    fakes.clock.advance(days=1)
    await fakes.change_group("g-1", "ab", version=2, removed="c")
    with pytest.raises(Forbidden):
        await fakes.conversations.read(session_id, fakes.member("c"))


async def test_a_later_member_reads_once_everyone_who_was_there_agrees(fakes: Any) -> None:
    session_id = await held(fakes)
    fakes.clock.advance(days=1)
    await fakes.change_group("g-1", "abcd", version=2, added="d")
    for person in "ab":
        sharing = await fakes.conversations.share(session_id, fakes.member(person), agree=True)
    assert not sharing.shared and sharing.waiting_for == ["c"]
    with pytest.raises(Forbidden):
        await fakes.conversations.read(session_id, fakes.member("d"))
    sharing = await fakes.conversations.share(session_id, fakes.member("c"), agree=True)
    assert sharing.shared
    assert (await fakes.conversations.read(session_id, fakes.member("d"))).attendee_ids
    # Sharing opens reading, not writing; and one withdrawn agreement closes it again.
    version = fakes.sessions.documents[session_id]["version"]
    with pytest.raises(Forbidden):
        await fakes.conversations.correct(session_id, a_record(), fakes.member("d"), version)
    await fakes.conversations.share(session_id, fakes.member("b"), agree=False)
    with pytest.raises(Forbidden):
        await fakes.conversations.read(session_id, fakes.member("d"))


async def test_a_session_held_before_the_last_join_is_still_theirs_who_joined_during_it(
    fakes: Any,
) -> None:
    session_id = await a_session(fakes)
    fakes.clock.advance(days=1, minutes=30)  # under way
    await fakes.change_group("g-1", "abcd", version=2, added="d")
    fakes.clock.advance(hours=2)
    await fakes.conversations.record(session_id, a_record("abcd"), fakes.member("d"))
    assert (await fakes.conversations.read(session_id, fakes.member("d"))).recorded_by == "d"
