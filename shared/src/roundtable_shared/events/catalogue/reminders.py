"""Events the reminders service publishes (stream ``roundtable-reminders``).

Reporting counts them per program; nothing here carries a reminder's text or the recipient's
address, which stay in the reminders service.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import AwareDatetime, Field, model_validator

from roundtable_shared.bounded import Attempts
from roundtable_shared.events.catalogue.enrollment import Id
from roundtable_shared.events.envelope import EventData
from roundtable_shared.events.registry import event


class ReminderKind(StrEnum):
    SESSION_UPCOMING = "session_upcoming"
    ACTION_DUE = "action_due"
    ACTION_OVERDUE = "action_overdue"
    """Sent to the accountability partner."""
    SCHEDULE_NEXT_SESSION = "schedule_next_session"
    """The group has no session planned within the program's cadence."""
    # Added in schema 1 without breaking it: consumers that count by kind see new values only.
    WELCOME = "welcome"
    """A participant enrolled in a program."""
    GROUP_INTRODUCTION = "group_introduction"
    """A group formed: each member is introduced to the others."""
    SESSION_CANCELLED = "session_cancelled"
    RECORD_ACTION_STEPS = "record_action_steps"
    """A session was held but no action steps were recorded."""
    ACTION_OVERDUE_OWNER = "action_overdue_owner"
    """Sent to the owner of an overdue action step."""
    WELCOME_BACK = "welcome_back"
    """A paused participant resumed: their reminders are active again."""
    PARTNER_THANKS = "partner_thanks"
    """The accountability partner of a completed action step is thanked."""
    SURVEY_NUDGE = "survey_nudge"
    """A participant asked by an open survey has not answered it yet."""


class Channel(StrEnum):
    EMAIL = "email"
    CHAT = "chat"


class FailureReason(StrEnum):
    INVALID_ADDRESS = "invalid_address"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    RECIPIENT_UNKNOWN = "recipient_unknown"
    """No directory record (yet) for the recipient."""


class _ReminderEvent(EventData):
    """What a delivery attempt was about and for whom; not an event by itself."""

    reminder_id: Id = Field(examples=["rem_0b7e"])
    program_id: Id
    recipient_id: Id = Field(description="Employee id.")
    kind: ReminderKind
    channel: Channel
    session_id: Id | None = Field(default=None, description="For session reminders.")
    action_id: Id | None = Field(default=None, description="For action step reminders.")
    group_id: Id | None = Field(default=None, description="For schedule-next-session nudges.")
    due_at: AwareDatetime = Field(description="When the reminder was planned to go out.")

    @model_validator(mode="after")
    def _names_its_target(self) -> Self:
        # Each kind is about one thing; a reminder without it cannot be attributed.
        target = {
            ReminderKind.SESSION_UPCOMING: self.session_id,
            ReminderKind.ACTION_DUE: self.action_id,
            ReminderKind.ACTION_OVERDUE: self.action_id,
            ReminderKind.SCHEDULE_NEXT_SESSION: self.group_id,
            ReminderKind.WELCOME: self.program_id,
            ReminderKind.GROUP_INTRODUCTION: self.group_id,
            ReminderKind.SESSION_CANCELLED: self.session_id,
            ReminderKind.RECORD_ACTION_STEPS: self.session_id,
            ReminderKind.ACTION_OVERDUE_OWNER: self.action_id,
            ReminderKind.WELCOME_BACK: self.program_id,
            ReminderKind.PARTNER_THANKS: self.action_id,
            ReminderKind.SURVEY_NUDGE: self.program_id,  # the survey itself is enrollment's
        }[self.kind]
        if target is None:
            raise ValueError(f"a {self.kind} reminder needs its session, action or group id")
        return self


@event("roundtable.reminders.reminder.sent", aggregate="reminder id")
class ReminderSent(_ReminderEvent):
    """A reminder was handed to its channel (SMTP server or chat webhook)."""

    sent_at: AwareDatetime


@event("roundtable.reminders.reminder.failed", aggregate="reminder id")
class ReminderFailed(_ReminderEvent):
    """Delivering a reminder failed; ``final`` says whether it is retried."""

    reason: FailureReason
    error_code: str | None = Field(
        default=None,
        max_length=64,
        description="The channel's status code; never the message or the address.",
        examples=["550"],
    )
    attempts: Attempts
    final: bool = Field(description="True when no further attempt will be made.")
    failed_at: AwareDatetime
