"""The recorded peer-coaching conversation: who attended, the hot seats, shared notes, history.

Peer coaching (the product's article): the member in the hot seat explains a challenge and the
results they want, names the obstacles, listens to the peers' questions (inquiry) and suggestions
from experience (advocacy), reflects, and commits to action steps a peer holds them to.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from roundtable_shared.events.catalogue.enrollment import ROUNDTABLE_MAX
from roundtable_shared.events.catalogue.sessions import (
    SessionAttendanceCorrected,
    SessionCompleted,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.problems import Conflict, Forbidden
from sessions.common import invalid
from sessions.membership.domain import Group
from sessions.scheduling.domain import SessionStatus

ERASED = "[erased]"


class Suggestion(BaseModel):
    by: str
    text: str


class HotSeat(BaseModel):
    employee_id: str
    challenge: str
    desired_results: str | None = None
    obstacles: list[str] = Field(default_factory=list)
    helpful_questions: list[str] = Field(default_factory=list)
    suggestions: list[Suggestion] = Field(default_factory=list)
    reflection: str | None = None


class SharedNote(BaseModel):
    note_id: str
    author_id: str
    text: str
    written_at: AwareDatetime


class Record(BaseModel):
    attendee_ids: list[str]
    started_at: AwareDatetime
    ended_at: AwareDatetime
    hot_seats: list[HotSeat] = Field(default_factory=list)
    shared_notes: list[SharedNote] = Field(default_factory=list)
    recorded_by: str
    recorded_at: AwareDatetime
    edited_by: str | None = None
    edited_at: AwareDatetime | None = None


class Revision(BaseModel):
    """A record as it was before a correction: corrections are edits with history."""

    version: int = Field(description="The session version this record belonged to.")
    replaced_by: str
    replaced_at: AwareDatetime
    record: Record


class Consent(BaseModel):
    """A member's agreement to share the session's conversation with members who joined later."""

    employee_id: str
    at: AwareDatetime


class Conversation(BaseModel):
    """The part of a session document this concept reads."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    group_id: str
    program_id: str
    status: SessionStatus
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    invited_ids: list[str]
    record: Record | None = None
    history: list[Revision] = Field(default_factory=list)
    sharing: list[Consent] = Field(default_factory=list)
    version: int

    def document(self) -> dict[str, Any]:
        """The fields of the session document this concept reads, as stored."""
        return self.model_dump(by_alias=True, exclude={"version"})


class NoteDraft(BaseModel):
    """A shared note as sent: an existing ``note_id`` keeps its author, a new note is the editor's."""

    note_id: str | None = None
    text: str


class RecordDraft(BaseModel):
    attendee_ids: list[str]
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    hot_seats: list[HotSeat] = Field(default_factory=list)
    shared_notes: list[NoteDraft] = Field(default_factory=list)


# --- who may read and write a session's conversation -----------------------------------------------


def was_there(conversation: Conversation, group: Group, employee_id: str) -> bool:
    """A current member who was a member at some moment of the session's planned time.

    The planned time, not the recorded one: it is fixed once the session has begun (only a
    session still to come is rescheduled), while the recorded times are whatever a writer says.
    """
    return group.present_during(employee_id, conversation.starts_at, conversation.ends_at)


def may_read(conversation: Conversation, group: Group, employee_id: str) -> bool:
    """Those who were in the group when the session was held read its record and history; the
    members who joined later too, once the group agreed to share it with them."""
    return was_there(conversation, group, employee_id) or shared_with_later_members(
        conversation, group
    )


def voices(conversation: Conversation) -> set[str]:
    """Everyone whose presence or words the record holds, in any of its versions."""
    records = [conversation.record] if conversation.record else []
    records += [revision.record for revision in conversation.history]
    found: set[str] = set()
    for record_ in records:
        found |= set(record_.attendee_ids)
        found |= {note.author_id for note in record_.shared_notes}
        for seat in record_.hot_seats:
            found |= {seat.employee_id, *(s.by for s in seat.suggestions)}
    return found


def consent_needed(conversation: Conversation, group: Group) -> set[str]:
    """Whose agreement sharing with later members needs: every member who was there and still
    is, and everyone the record holds the presence or words of (an erased person's words are
    gone, so not them). Someone who was there and has left cannot agree: it stays unshared."""
    present = group.present_members(conversation.starts_at, conversation.ends_at)
    return (set(present) | voices(conversation)) - group.erased_employees


def shared_with_later_members(conversation: Conversation, group: Group) -> bool:
    needed = consent_needed(conversation, group)
    consented = {consent.employee_id for consent in conversation.sharing}
    return bool(needed) and needed <= consented


def consent_to_share(
    conversation: Conversation, group: Group, by: str, now: datetime
) -> Conversation | None:
    """The caller (one who was there) agrees to share with later members; None if they had."""
    require_writer(conversation, group, by)
    if any(consent.employee_id == by for consent in conversation.sharing):
        return None
    sharing = [*conversation.sharing, Consent(employee_id=by, at=now)]
    return conversation.model_copy(update={"sharing": sharing})


def withdraw_consent(conversation: Conversation, group: Group, by: str) -> Conversation | None:
    """The caller takes their agreement back (the record is no longer shared); None if none."""
    require_writer(conversation, group, by)
    sharing = [consent for consent in conversation.sharing if consent.employee_id != by]
    if len(sharing) == len(conversation.sharing):
        return None
    return conversation.model_copy(update={"sharing": sharing})


def require_readable(conversation: Conversation, group: Group, employee_id: str) -> None:
    group.require_member(employee_id)
    if not may_read(conversation, group, employee_id):
        raise Forbidden(
            "this session was held before you joined the group: its conversation is for "
            "those who were members then, unless they all agree to share it"
        )


def require_writer(conversation: Conversation, group: Group, employee_id: str) -> None:
    """Only someone who was in the group when the session was held records or corrects it."""
    group.require_member(employee_id)
    if not was_there(conversation, group, employee_id):
        raise Forbidden(
            "this session was held before you joined the group: only those who were members "
            "then record or correct it"
        )


def _check(draft: RecordDraft, conversation: Conversation, group: Group) -> None:
    attendees = draft.attendee_ids
    if not attendees:
        raise invalid("attendee_ids", "at least one member attended")
    if len(set(attendees)) != len(attendees):
        raise invalid("attendee_ids", "each attendee once")
    # Someone who joined after the session cannot have attended it.
    present = group.present_members(conversation.starts_at, conversation.ends_at)
    allowed = set(present) | set(conversation.invited_ids)
    strangers = sorted(set(attendees) - allowed)
    if strangers:
        raise invalid("attendee_ids", f"not members of the group: {', '.join(strangers)}")
    if len(attendees) > ROUNDTABLE_MAX:
        raise invalid("attendee_ids", f"at most {ROUNDTABLE_MAX} attendees")
    seated: set[str] = set()
    for n, seat in enumerate(draft.hot_seats):
        if seat.employee_id not in attendees:
            raise invalid(f"hot_seats.{n}.employee_id", "the hot seat is taken by an attendee")
        if seat.employee_id in seated:
            raise invalid(f"hot_seats.{n}.employee_id", "one hot seat per member per session")
        seated.add(seat.employee_id)
        for m, suggestion in enumerate(seat.suggestions):
            if suggestion.by not in attendees or suggestion.by == seat.employee_id:
                raise invalid(
                    f"hot_seats.{n}.suggestions.{m}.by",
                    "suggestions come from the other attendees",
                )
    started = draft.started_at or conversation.starts_at
    ended = draft.ended_at or conversation.ends_at
    if ended < started:
        raise invalid("ended_at", "the session cannot end before it started")


def _notes(
    drafts: list[NoteDraft], previous: list[SharedNote], by: str, now: datetime
) -> list[SharedNote]:
    """The shared notes as the draft leaves them. A note stays attributed to its author, so only
    its author changes or removes it (403 for anyone else); a new note is the writer's."""
    known = {note.note_id: note for note in previous}
    notes = []
    for n, draft in enumerate(drafts):
        if draft.note_id is None:
            notes.append(
                SharedNote(note_id=str(uuid.uuid4()), author_id=by, text=draft.text, written_at=now)
            )
        elif draft.note_id in known:
            old = known[draft.note_id]
            if old.text != draft.text:
                _require_author(old, by)
                old = old.model_copy(update={"text": draft.text})
            notes.append(old)
        else:
            raise invalid(f"shared_notes.{n}.note_id", "no such note in this record")
    kept = {note.note_id for note in notes}
    for note in previous:
        if note.note_id not in kept:
            _require_author(note, by)
    return notes


def _require_author(note: SharedNote, by: str) -> None:
    if note.author_id != by:
        raise Forbidden(
            "a shared note is its author's words: only its author changes or removes it "
            "(add a note of your own instead)"
        )


def record(
    conversation: Conversation, group: Group, by: str, draft: RecordDraft, now: datetime
) -> tuple[Conversation, list[EventData]]:
    """The session held, with its record, and the event telling who attended."""
    require_writer(conversation, group, by)
    if conversation.status is SessionStatus.CANCELLED:
        raise Conflict("the session was cancelled; a cancelled session cannot be recorded")
    if conversation.record is not None:
        raise Conflict("the session is already recorded; correct it with PUT and If-Match")
    if conversation.starts_at > now:
        raise Conflict("the session has not started yet")
    _check(draft, conversation, group)
    result = Record(
        attendee_ids=draft.attendee_ids,
        started_at=draft.started_at or conversation.starts_at,
        ended_at=draft.ended_at or conversation.ends_at,
        hot_seats=draft.hot_seats,
        shared_notes=_notes(draft.shared_notes, [], by, now),
        recorded_by=by,
        recorded_at=now,
    )
    event = SessionCompleted(
        session_id=conversation.id,
        group_id=conversation.group_id,
        program_id=conversation.program_id,
        started_at=result.started_at,
        ended_at=result.ended_at,
        attendee_ids=result.attendee_ids,
        invited_count=_invited_count(conversation, result),
    )
    held = conversation.model_copy(update={"status": SessionStatus.HELD, "record": result})
    return held, [event]


def _invited_count(conversation: Conversation, result: Record) -> int:
    return min(ROUNDTABLE_MAX, len(set(conversation.invited_ids) | set(result.attendee_ids)))


def correct(
    conversation: Conversation, group: Group, by: str, draft: RecordDraft, now: datetime
) -> tuple[Conversation, list[EventData]]:
    """The corrected record, the one it replaces kept in the history; an event when who
    attended or when changed."""
    require_writer(conversation, group, by)
    previous = conversation.record
    if previous is None:
        raise Conflict("the session is not recorded yet; record it with POST first")
    _check(draft, conversation, group)
    corrected = Record(
        attendee_ids=draft.attendee_ids,
        started_at=draft.started_at or previous.started_at,
        ended_at=draft.ended_at or previous.ended_at,
        hot_seats=draft.hot_seats,
        shared_notes=_notes(draft.shared_notes, previous.shared_notes, by, now),
        recorded_by=previous.recorded_by,
        recorded_at=previous.recorded_at,
        edited_by=by,
        edited_at=now,
    )
    revision = Revision(
        version=conversation.version, replaced_by=by, replaced_at=now, record=previous
    )
    corrected_conversation = conversation.model_copy(
        update={"record": corrected, "history": [*conversation.history, revision]}
    )
    events: list[EventData] = []
    if set(corrected.attendee_ids) != set(previous.attendee_ids) or (
        corrected.started_at,
        corrected.ended_at,
    ) != (previous.started_at, previous.ended_at):
        events.append(
            SessionAttendanceCorrected(
                session_id=conversation.id,
                group_id=conversation.group_id,
                program_id=conversation.program_id,
                started_at=corrected.started_at,
                ended_at=corrected.ended_at,
                attendee_ids=corrected.attendee_ids,
                invited_count=_invited_count(conversation, corrected),
                corrected_at=now,
            )
        )
    return corrected_conversation, events


# --- erasure ---------------------------------------------------------------------------------------


def scrub_record(record: Record, employee_id: str) -> Record:
    """The record without what this person said or brought; their opaque id stays countable."""
    seats = []
    for seat in record.hot_seats:
        if seat.employee_id == employee_id:
            seat = HotSeat(employee_id=employee_id, challenge=ERASED)
        seats.append(
            seat.model_copy(
                update={
                    "suggestions": [
                        s if s.by != employee_id else Suggestion(by=s.by, text=ERASED)
                        for s in seat.suggestions
                    ]
                }
            )
        )
    notes = [note for note in record.shared_notes if note.author_id != employee_id]
    return record.model_copy(update={"hot_seats": seats, "shared_notes": notes})


def scrubbed(conversation: Conversation, employee_id: str) -> Conversation | None:
    """The conversation without this person's words, or None when nothing of theirs is in it."""
    if conversation.record is None:
        return None
    record_ = scrub_record(conversation.record, employee_id)
    history = [
        r.model_copy(update={"record": scrub_record(r.record, employee_id)})
        for r in conversation.history
    ]
    if record_ == conversation.record and history == conversation.history:
        return None
    return conversation.model_copy(update={"record": record_, "history": history})
