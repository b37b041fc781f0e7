"""Enrolments: who joined which program, their answers, waitlist and pauses. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from enrollment.programs.domain import TimeOfDay
from enrollment.questions.domain import QuestionAnswers
from roundtable_shared.events.catalogue.enrollment import (
    EmploymentStatus,
    ParticipantPaused,
    ParticipantResumed,
    ParticipantUpdated,
    ParticipantWithdrawn,
    PauseReason,
    ReportingAttributes,
    TimeZoneName,
    WithdrawReason,
)
from roundtable_shared.events.envelope import EventData


class ParticipantStatus(StrEnum):
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"


ACTIVE = {ParticipantStatus.ENROLLED, ParticipantStatus.WAITLISTED, ParticipantStatus.PAUSED}
HOLDS_SEAT = {ParticipantStatus.ENROLLED, ParticipantStatus.PAUSED}


class MeetingPreference(StrEnum):
    REMOTE = "remote"
    IN_PERSON = "in_person"
    EITHER = "either"


Phrase = Annotated[str, Field(min_length=1, max_length=200)]


class Availability(BaseModel):
    """The participant's working hours in their time zone (matching needs them to overlap)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    working_hours_start: TimeOfDay = "09:00"
    working_hours_end: TimeOfDay = "17:00"

    @model_validator(mode="after")
    def _ordered(self) -> Availability:
        if self.working_hours_start >= self.working_hours_end:
            raise ValueError("working_hours_end must be after working_hours_start")
        return self


class Answers(BaseModel):
    """What an employee tells the program when enrolling. Only they (and admins) see it."""

    model_config = ConfigDict(extra="forbid")

    goals: list[Phrase] = Field(default_factory=list, max_length=10)
    topics: list[Phrase] = Field(default_factory=list, max_length=20)
    challenges: str = Field("", max_length=4000)
    availability: Availability | None = None
    time_zone: TimeZoneName | None = Field(
        None, description="Default: the time zone in the directory."
    )
    meeting_preference: MeetingPreference = MeetingPreference.EITHER
    consent_to_reporting: bool = Field(
        False, description="Allow department, level and location in sponsors' breakdowns."
    )
    question_answers: QuestionAnswers = Field(
        default_factory=dict,
        description="Answers to the program's enrolment questions, by question id: an option "
        "id (single choice), a list of option ids (multiple choice), a whole number (scale) or "
        "text (short text).",
    )


@dataclass(frozen=True)
class EnrolmentRequest:
    """The request an enrolment was made by: the client's idempotency key and a fingerprint of
    what it asked, so a retry of it is answered as the first was (and another request is not)."""

    idempotency_key: str | None = None
    fingerprint: str | None = None


def participant_id(program_id: str, employee_id: str) -> str:
    """One enrolment per employee and program: the id says so, and the unique _id enforces it."""
    digest = hashlib.sha256(f"{program_id}\x1f{employee_id}".encode()).hexdigest()
    return f"par_{digest[:24]}"


class Participant(BaseModel):
    participant_id: str
    program_id: str
    employee_id: str
    status: ParticipantStatus
    answers: Answers
    answers_version: int = 1
    """Which answer set this is: 1 at enrolment, one more per edit that changes them. Only the
    current set is kept (a replaced answer is the person's to take back, not ours to keep)."""
    reporting_attributes: ReportingAttributes | None = None
    group_id: str | None = None
    waitlist_number: int | None = None
    enrolled_at: datetime | None = None
    updated_at: datetime
    paused_reason: PauseReason | None = None
    """Why a paused participant is paused: a leave ends only pauses a leave began."""
    resume_expected_on: date | None = None
    withdrawn_reason: WithdrawReason | None = None
    leaving_group_id: str | None = None
    """A withdrawal's group still to change: saved with the withdrawal, cleared once done."""
    seat_to_release: bool = False
    """A withdrawal's seat still to give to the waitlist: saved with it, cleared once done."""

    @property
    def withdrawal_unfinished(self) -> bool:
        return self.leaving_group_id is not None or self.seat_to_release

    def replace_answers(self, answers: Answers) -> bool:
        """The participant's new answer set; False when it is the one they have (no new
        version, so a retried edit changes nothing)."""
        if answers == self.answers:
            return False
        self.answers = answers
        self.answers_version += 1
        return True

    def forget_answers(self) -> bool:
        """Drop what the person wrote and the attributes they shared (erasure); False when
        there was nothing left to drop, so a repeated erasure writes nothing."""
        if self.answers == Answers() and self.reporting_attributes is None:
            return False
        self.answers = Answers()
        self.reporting_attributes = None
        return True

    def withdraw(self, reason: WithdrawReason, now: datetime) -> list[EventData]:
        """Leave the program: the group and the seat it held are saved with the withdrawal as
        still to follow (``leaving_group_id``, ``seat_to_release``), an erasure drops the
        answers. The withdrawal's event; none when withdrawn already (a redelivery)."""
        if self.status is ParticipantStatus.WITHDRAWN:
            return []
        group_id = self.group_id
        self.seat_to_release = self.status in HOLDS_SEAT
        self.leaving_group_id = group_id
        self.status = ParticipantStatus.WITHDRAWN
        self.withdrawn_reason = reason
        self.group_id = None
        self.paused_reason = self.resume_expected_on = None
        self.updated_at = now
        if reason is WithdrawReason.ERASED:
            self.forget_answers()
        return [
            ParticipantWithdrawn(**self.ids(), group_id=group_id, reason=reason, withdrawn_at=now)
        ]

    def follow_directory(self, facts: DirectoryFacts, now: datetime) -> list[EventData]:
        """Take what HR changed: a leave pauses an enrolled participant (and its end resumes
        one a leave paused, no other); new reporting attributes replace a consenting active
        participant's. The events of what changed; none when it already holds (a redelivery)."""
        events: list[EventData] = []
        status = facts.employment_status
        if status is EmploymentStatus.ON_LEAVE and self.status is ParticipantStatus.ENROLLED:
            self.status = ParticipantStatus.PAUSED
            self.paused_reason = PauseReason.ON_LEAVE
            self.resume_expected_on = facts.leave_expected_return_on
            events.append(
                ParticipantPaused(
                    **self.ids(),
                    reason=PauseReason.ON_LEAVE,
                    paused_at=now,
                    resume_expected_on=self.resume_expected_on,
                )
            )
        elif (
            status is EmploymentStatus.ACTIVE
            and self.status is ParticipantStatus.PAUSED
            # Before reasons were kept only leaves paused anyone: no reason means a leave.
            and self.paused_reason in (PauseReason.ON_LEAVE, None)
        ):
            self.status = ParticipantStatus.ENROLLED
            self.paused_reason = None
            self.resume_expected_on = None
            events.append(ParticipantResumed(**self.ids(), resumed_at=now))
        if (
            self.status in ACTIVE
            and self.answers.consent_to_reporting
            and facts.reporting_attributes is not None
            and self.reporting_attributes != facts.reporting_attributes
        ):
            self.reporting_attributes = facts.reporting_attributes
            events.append(ParticipantUpdated(**self.consent_fields(), updated_at=now))
        if events:
            self.updated_at = now
        return events

    def consent_fields(self) -> dict[str, Any]:
        consent = self.answers.consent_to_reporting
        return {
            "participant_id": self.participant_id,
            "program_id": self.program_id,
            "employee_id": self.employee_id,
            "consent_to_reporting": consent,
            "reporting_attributes": self.reporting_attributes if consent else None,
        }

    def ids(self) -> dict[str, str]:
        return {
            "participant_id": self.participant_id,
            "program_id": self.program_id,
            "employee_id": self.employee_id,
        }


class DirectoryNews(StrEnum):
    """What the directory cascade hears of an employee: a change (``employee.upserted``) or a
    termination (``employee.offboarded``)."""

    CHANGED = "changed"
    TERMINATED = "terminated"


def follow_news(
    participant: Participant,
    news: Sequence[DirectoryNews],
    facts: DirectoryFacts | None,
    now: datetime,
) -> list[EventData]:
    """What one enrolment does with its employee's directory news, in the order heard: a change
    is followed (``follow_directory``, on the directory as it is now: ``facts``, None when the
    person is gone from it), a termination withdraws an active enrolment. The events of it all,
    in order, for one write; none when everything holds already (a redelivery), so applying the
    news of a batch at once raises what applying them one after another would."""
    events: list[EventData] = []
    for heard in news:
        if heard is DirectoryNews.CHANGED:
            if facts is not None:
                events += participant.follow_directory(facts, now)
        elif participant.status in ACTIVE:
            events += participant.withdraw(WithdrawReason.TERMINATED, now)
    return events


class DirectoryFacts(BaseModel):
    """What an employee's enrolments follow from the directory: the employment status (leaves
    pause) and the attributes a consenting participant shares with sponsors."""

    model_config = ConfigDict(frozen=True)

    employment_status: EmploymentStatus | None = None
    reporting_attributes: ReportingAttributes | None = None
    leave_expected_return_on: date | None = None
