"""Events the sessions service publishes (stream ``roundtable-sessions``).

Confidentiality: what is said in a peer-coaching conversation stays in the sessions service. These
events carry ids, times, counts, ratings, statuses and the titles of action steps and sessions
(which the reminders service has to show), never challenges, notes, suggestions or comments. The
words a member wrote (titles, a session's link) are ``Sealed`` with that member's key.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Self

from pydantic import AwareDatetime, Field, model_validator

from roundtable_shared.events.catalogue.enrollment import ROUNDTABLE_MAX, Id, TimeZoneName
from roundtable_shared.events.envelope import EventData
from roundtable_shared.events.registry import event
from roundtable_shared.events.sealing import Sealed, SealedFor

Title = Annotated[str, Field(min_length=1, max_length=200)]
JoinUrl = Annotated[str, Field(max_length=2000)]


class SessionCancelReason(StrEnum):
    MEMBER = "member"
    GROUP_DISSOLVED = "group_dissolved"
    PROGRAM_CLOSED = "program_closed"
    ADMIN = "admin"


class ActionDropReason(StrEnum):
    OWNER = "owner"
    OWNER_WITHDRAWN = "owner_withdrawn"
    OWNER_ERASED = "owner_erased"
    PROGRAM_CLOSED = "program_closed"
    ADMIN = "admin"


# --- sessions (subject: session id) --------------------------------------------------------------


class _SessionEvent(EventData):
    """Which session, group and program; not an event by itself."""

    session_id: Id = Field(examples=["ses_81a0"])
    group_id: Id = Field(examples=["grp_17"])
    program_id: Id = Field(examples=["prg_2026_leadforward"])


class _SessionSchedule(_SessionEvent):
    """The whole schedule of a session, so reminders can (re)plan from one event."""

    title: Annotated[Sealed[Title], SealedFor("title_by")] = Field(
        examples=["Roundtable 3: session 2"],
        description="Sealed for ``title_by`` when a member wrote it (a default one is plain).",
    )
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    time_zone: TimeZoneName = Field(description="The zone the session was planned in.")
    attendee_ids: list[Id] = Field(
        min_length=1,
        max_length=ROUNDTABLE_MAX,
        description="Employee ids expected to attend (the group's members when scheduled).",
    )
    join_url: Annotated[Sealed[JoinUrl], SealedFor("join_url_by")] = Field(
        default=None, examples=["https://meet.example.com/abc-defg"]
    )
    title_by: Id | None = Field(
        default=None, description="Employee id of the member who wrote the title, if one did."
    )
    join_url_by: Id | None = Field(
        default=None, description="Employee id of the member who gave the link, if one did."
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


@event("roundtable.sessions.session.scheduled", aggregate="session id")
class SessionScheduled(_SessionSchedule):
    """A group scheduled a peer-coaching session."""

    scheduled_by: Id | None = Field(default=None, description="Employee id; none when automatic.")


@event("roundtable.sessions.session.rescheduled", aggregate="session id")
class SessionRescheduled(_SessionSchedule):
    """A scheduled session moved; the whole new schedule."""

    previous_starts_at: AwareDatetime


@event("roundtable.sessions.session.cancelled", aggregate="session id")
class SessionCancelled(_SessionEvent):
    """A scheduled session will not take place."""

    starts_at: AwareDatetime = Field(description="When it would have started.")
    reason: SessionCancelReason
    cancelled_by: Id | None = Field(default=None, description="Employee id; none when automatic.")
    cancelled_at: AwareDatetime


@event("roundtable.sessions.session.completed", aggregate="session id")
class SessionCompleted(_SessionEvent):
    """A session was held."""

    started_at: AwareDatetime
    ended_at: AwareDatetime
    attendee_ids: list[Id] = Field(
        min_length=1, max_length=ROUNDTABLE_MAX, description="Employee ids who took part."
    )
    invited_count: int = Field(ge=1, le=ROUNDTABLE_MAX, description="Members expected.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


@event("roundtable.sessions.session.attendance_corrected", aggregate="session id")
class SessionAttendanceCorrected(_SessionEvent):
    """A held session's attendance was corrected: the whole attendance, replacing what was said."""

    started_at: AwareDatetime
    ended_at: AwareDatetime
    attendee_ids: list[Id] = Field(
        min_length=1, max_length=ROUNDTABLE_MAX, description="Employee ids who took part."
    )
    invited_count: int = Field(ge=1, le=ROUNDTABLE_MAX, description="Members expected.")
    corrected_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


# --- action steps (subject: action step id) ------------------------------------------------------


class _ActionEvent(EventData):
    """Which action step, where it was committed, and whose it is; not an event by itself."""

    sealed_for: ClassVar[str] = "owner_id"

    action_id: Id = Field(examples=["act_5c3e"])
    session_id: Id = Field(description="The session it was committed in.")
    group_id: Id
    program_id: Id
    owner_id: Id = Field(description="Employee id of the person who committed to it.")


class _ActionStep(_ActionEvent):
    """The whole action step as reminders and reporting keep it; not an event by itself."""

    accountability_partner_id: Id = Field(
        description="Employee id of the peer who holds the owner accountable."
    )
    title: Sealed[Title] = Field(examples=["Book a skip-level 1:1 with the CFO"])
    due_at: AwareDatetime = Field(description="End of the due day in the owner's time zone.")

    @model_validator(mode="after")
    def _partner_is_a_peer(self) -> Self:
        if self.accountability_partner_id == self.owner_id:
            raise ValueError("accountability_partner_id must differ from owner_id")
        return self


@event("roundtable.sessions.action.committed", aggregate="action step id")
class ActionCommitted(_ActionStep):
    """A participant committed to an action step in a session."""

    committed_at: AwareDatetime


@event("roundtable.sessions.action.updated", aggregate="action step id")
class ActionUpdated(_ActionStep):
    """An open action step changed (title, due time or partner); the whole step."""

    updated_at: AwareDatetime


@event("roundtable.sessions.action.completed", aggregate="action step id")
class ActionCompleted(_ActionEvent):
    """The owner completed an action step."""

    accountability_partner_id: Id
    completed_at: AwareDatetime


@event("roundtable.sessions.action.dropped", aggregate="action step id")
class ActionDropped(_ActionEvent):
    """An open action step will not be done; its reminders stop."""

    reason: ActionDropReason
    dropped_at: AwareDatetime


# --- feedback (subject: feedback id) -------------------------------------------------------------


@event("roundtable.sessions.feedback.submitted", aggregate="feedback id")
class FeedbackSubmitted(_SessionEvent):
    """A participant rated a session; ratings only, any free text stays in the sessions service."""

    feedback_id: Id = Field(examples=["fbk_20d1"])
    employee_id: Id = Field(description="Who rated, for consented breakdowns.")
    rating: int = Field(ge=1, le=5, description="How valuable the session was.", examples=[4])
    recommend_score: int | None = Field(
        default=None, ge=0, le=10, description="Would recommend the program (0-10).", examples=[9]
    )
    submitted_at: AwareDatetime
