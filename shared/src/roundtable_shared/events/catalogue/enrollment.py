"""Events the enrollment service publishes (stream ``roundtable-enrollment``).

Enrollment owns the employee directory (fed by HR), programs, enrolments, matching and peer
groups. Snapshot events (``*.upserted``, ``*.created``, ``*.updated``, ``group.formed``,
``group.changed``) carry the whole current state of what they describe, so a consumer upserts its
copy and never has to merge deltas; the envelope's ``aggregateversion`` orders them.

Personal data is kept to what consumers need (an id, a display name, an email, a time zone, a
status). Department, level and location travel only on participant events, and only when the
participant consented to reporting, because reporting is their only consumer. Names, emails, time
zones and those attributes are ``Sealed``: encrypted with the person's key, unreadable once they
are erased.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from roundtable_shared.bounded import (
    MAX_REMINDER_OFFSETS,
    MAX_SPONSORS,
    DaysAfter,
    HoursBefore,
    MinutesBefore,
    QueuePosition,
    Seats,
    SessionMinutes,
)
from roundtable_shared.events.envelope import EventData
from roundtable_shared.events.registry import event
from roundtable_shared.events.sealing import Sealed

# --- shared field types --------------------------------------------------------------------------

Id = Annotated[str, Field(min_length=1, max_length=128)]
"""An opaque id. Never personal data: it survives erasure so aggregates stay countable."""

TimeZoneName = Annotated[
    str,
    # A shape check only: validating against the local tz database would dead-letter events on a
    # consumer whose tzdata is older than the producer's.
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$",
        max_length=64,
        description="IANA time zone name.",
        examples=["Europe/Berlin"],
    ),
]

DisplayName = Annotated[str, Field(min_length=1, max_length=200, examples=["Ada Lovelace"])]

Email = Annotated[
    str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320, examples=["ada.lovelace@example.com"])
]


class EmploymentStatus(StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    TERMINATED = "terminated"


class ProgramFormat(StrEnum):
    PAIRS = "pairs"
    ROUNDTABLE = "roundtable"


class ProgramStatus(StrEnum):
    """Life cycle: draft -> open (enrolment) -> running (groups meet) -> closed."""

    DRAFT = "draft"
    OPEN = "open"
    RUNNING = "running"
    CLOSED = "closed"


class Cadence(StrEnum):
    """How often a group is expected to meet; reminders nudge groups that fall behind."""

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


class WithdrawReason(StrEnum):
    SELF = "self"
    TERMINATED = "terminated"
    ADMIN = "admin"
    ERASED = "erased"


class PauseReason(StrEnum):
    SELF = "self"
    ON_LEAVE = "on_leave"
    ADMIN = "admin"


class GroupChangeReason(StrEnum):
    REMATCH = "rematch"
    MEMBER_WITHDRAWN = "member_withdrawn"
    MEMBER_ERASED = "member_erased"
    ADMIN = "admin"


class DissolveReason(StrEnum):
    PROGRAM_CLOSED = "program_closed"
    TOO_FEW_MEMBERS = "too_few_members"
    ADMIN = "admin"


# Limits of the product: a pair is two people, a roundtable three to eight.
PAIR_SIZE = 2
ROUNDTABLE_MIN = 3
ROUNDTABLE_MAX = 8


# --- nested models -------------------------------------------------------------------------------


class ReminderSettings(BaseModel):
    """When the reminders service nudges participants of a program."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    before_session_minutes: list[MinutesBefore] = Field(
        max_length=MAX_REMINDER_OFFSETS,
        description="Remind attendees this many minutes before each session starts.",
        examples=[[1440, 60]],
    )
    before_action_due_hours: list[HoursBefore] = Field(
        max_length=MAX_REMINDER_OFFSETS,
        description="Remind the owner this many hours before an action step is due.",
        examples=[[48]],
    )
    notify_partner_when_overdue: bool = Field(
        default=True,
        description="Also tell the accountability partner when the owner is told of an overdue step.",
    )
    overdue_after_days: DaysAfter = Field(
        default=2,
        description="Tell the owner of an action step this many days overdue (0: once it is due).",
    )


class ReportingAttributes(BaseModel):
    """Directory attributes a consenting participant allows in sponsors' breakdowns."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    department: str | None = Field(default=None, max_length=200, examples=["Finance"])
    level: str | None = Field(default=None, max_length=100, examples=["L5"])
    location: str | None = Field(default=None, max_length=200, examples=["Berlin"])


class GroupMember(BaseModel):
    """A member of a peer pair or roundtable."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sealed_for: ClassVar[str] = "employee_id"

    employee_id: Id
    participant_id: Id = Field(description="The member's enrolment in the group's program.")
    display_name: Sealed[DisplayName]


# --- employees (subject: employee id) ------------------------------------------------------------


@event("roundtable.enrollment.employee.upserted", aggregate="employee id")
class EmployeeUpserted(EventData):
    """An employee was added to or changed in the directory (from HR); the full current record."""

    employee_id: Id = Field(examples=["emp_4711"])
    display_name: Sealed[DisplayName]
    email: Sealed[Email]
    time_zone: Sealed[TimeZoneName] = Field(
        description="The person's IANA zone (where they are): sealed like their name."
    )
    employment_status: EmploymentStatus
    updated_at: AwareDatetime = Field(description="When HR recorded the change.")


@event("roundtable.enrollment.employee.offboarded", aggregate="employee id")
class EmployeeOffboarded(EventData):
    """An employee left the company; their enrolments are withdrawn in separate events."""

    employee_id: Id
    offboarded_at: AwareDatetime = Field(description="Effective time of the termination.")


@event("roundtable.enrollment.employee.erased", aggregate="employee id")
class EmployeeErased(EventData):
    """Erase (or pseudonymise) this person everywhere; aggregates stay."""

    employee_id: Id
    erased_at: AwareDatetime


# --- programs (subject: program id) --------------------------------------------------------------


class _ProgramSnapshot(EventData):
    """Everything consumers keep about a program; not an event by itself."""

    program_id: Id = Field(examples=["prg_2026_leadforward"])
    name: str = Field(min_length=1, max_length=200, examples=["LEADForward Roundtables 2026"])
    status: ProgramStatus
    format: ProgramFormat
    group_size_min: int = Field(ge=PAIR_SIZE, le=ROUNDTABLE_MAX, examples=[3])
    group_size_max: int = Field(ge=PAIR_SIZE, le=ROUNDTABLE_MAX, examples=[6])
    cadence: Cadence
    session_duration_minutes: SessionMinutes = Field(examples=[60])
    time_zone: TimeZoneName = Field(description="Default time zone of the program's sessions.")
    starts_on: date | None = Field(default=None, description="Planned first day.")
    ends_on: date | None = Field(default=None, description="Planned last day.")
    capacity: Seats | None = Field(
        default=None, description="Most participants; further enrolments are waitlisted."
    )
    sponsor_ids: list[Id] = Field(
        max_length=MAX_SPONSORS,
        description="Employee ids allowed to see this program's aggregates.",
        examples=[["emp_0042"]],
    )
    reminders: ReminderSettings

    @model_validator(mode="after")
    def _sizes_fit_format(self) -> Self:
        if self.group_size_min > self.group_size_max:
            raise ValueError("group_size_min is larger than group_size_max")
        if self.format is ProgramFormat.PAIRS and self.group_size_max != PAIR_SIZE:
            raise ValueError("a pairs program has groups of exactly 2")
        if self.format is ProgramFormat.ROUNDTABLE and self.group_size_min < ROUNDTABLE_MIN:
            raise ValueError("a roundtable has 3 to 8 members")
        return self


class OriginKind(StrEnum):
    """What a new program was copied from."""

    PROGRAM = "program"  # a clone of an existing program
    TEMPLATE = "template"  # a program admin's saved template
    BUILT_IN_TEMPLATE = "built_in_template"  # one of Roundtable's own templates


class ProgramOrigin(BaseModel):
    """Where a program created as a copy came from: the guide and the messages of that program
    (or template) follow it into the new program in the services that keep them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: OriginKind
    id: Id = Field(description="The program id or the template id.", examples=["tpl_3c1e"])


@event("roundtable.enrollment.program.created", aggregate="program id")
class ProgramCreated(_ProgramSnapshot):
    """A program was created (as a draft); the full program."""

    created_at: AwareDatetime
    copied_from: ProgramOrigin | None = Field(
        default=None,
        description="Set when the program was created from a template or cloned from a program.",
    )


@event("roundtable.enrollment.program.updated", aggregate="program id")
class ProgramUpdated(_ProgramSnapshot):
    """A program's settings changed; the full program after the change."""

    updated_at: AwareDatetime


@event("roundtable.enrollment.program.opened", aggregate="program id")
class ProgramOpened(EventData):
    """A program opened for enrolment."""

    program_id: Id
    opened_at: AwareDatetime
    enrolment_closes_at: AwareDatetime | None = None


@event("roundtable.enrollment.program.started", aggregate="program id")
class ProgramStarted(EventData):
    """A program started running: groups are formed and meet."""

    program_id: Id
    started_at: AwareDatetime


@event("roundtable.enrollment.program.closed", aggregate="program id")
class ProgramClosed(EventData):
    """A program closed: no more sessions, action steps or reminders in it."""

    program_id: Id
    closed_at: AwareDatetime


# --- program templates (subject: template id) -----------------------------------------------------


@event("roundtable.enrollment.program_template.saved", aggregate="program template id")
class ProgramTemplateSaved(EventData):
    """A program admin saved a program as a template; guide and messages are copied under its id."""

    # The services that keep a program's guide and messages copy the source program's under
    # the template's id, and give them to every program created from the template.

    template_id: Id = Field(examples=["tpl_3c1e"])
    program_id: Id = Field(description="The program the template was saved from.")
    saved_at: AwareDatetime


@event("roundtable.enrollment.program_template.deleted", aggregate="program template id")
class ProgramTemplateDeleted(EventData):
    """A saved template was deleted: the copies kept under its id go with it."""

    template_id: Id
    program_id: Id = Field(description="The program the template was saved from.")
    deleted_at: AwareDatetime


# --- participants (subject: participant id, i.e. the enrolment) ----------------------------------


class _ParticipantEvent(EventData):
    """Who and which program every participant event is about; not an event by itself."""

    participant_id: Id = Field(description="The enrolment's id.", examples=["par_9f2c"])
    program_id: Id
    employee_id: Id


class _ParticipantConsentEvent(_ParticipantEvent):
    """Adds the reporting consent and the attributes it allows; not an event by itself."""

    consent_to_reporting: bool = Field(
        description="Whether the participant allows their attributes in sponsors' breakdowns."
    )
    reporting_attributes: Sealed[ReportingAttributes] = Field(
        default=None, description="Present only when consent_to_reporting is true."
    )

    @model_validator(mode="after")
    def _attributes_need_consent(self) -> Self:
        # The privacy rule is part of the contract, so a producer bug cannot leak attributes.
        if self.reporting_attributes is not None and not self.consent_to_reporting:
            raise ValueError("reporting_attributes without consent_to_reporting")
        return self


@event("roundtable.enrollment.participant.enrolled", aggregate="participant id")
class ParticipantEnrolled(_ParticipantConsentEvent):
    """An employee was enrolled in a program (directly or from its waitlist)."""

    enrolled_at: AwareDatetime
    from_waitlist: bool = False


@event("roundtable.enrollment.participant.updated", aggregate="participant id")
class ParticipantUpdated(_ParticipantConsentEvent):
    """A participant's consent or reporting attributes changed; the current values."""

    updated_at: AwareDatetime


@event("roundtable.enrollment.participant.withdrawn", aggregate="participant id")
class ParticipantWithdrawn(_ParticipantEvent):
    """A participant left a program and, with it, their group."""

    group_id: Id | None = Field(default=None, description="The group they were in, if any.")
    reason: WithdrawReason
    withdrawn_at: AwareDatetime


@event("roundtable.enrollment.participant.waitlisted", aggregate="participant id")
class ParticipantWaitlisted(_ParticipantEvent):
    """An employee asked to join a full program and is on its waitlist."""

    position: QueuePosition = Field(description="1 is next in line.")
    waitlisted_at: AwareDatetime


@event("roundtable.enrollment.participant.paused", aggregate="participant id")
class ParticipantPaused(_ParticipantEvent):
    """A participant paused (e.g. on leave): no reminders until resumed; stays in the group."""

    reason: PauseReason
    paused_at: AwareDatetime
    resume_expected_on: date | None = None


@event("roundtable.enrollment.participant.resumed", aggregate="participant id")
class ParticipantResumed(_ParticipantEvent):
    """A paused participant is active again."""

    resumed_at: AwareDatetime


# --- groups (subject: group id) ------------------------------------------------------------------


@event("roundtable.enrollment.group.formed", aggregate="group id")
class GroupFormed(EventData):
    """Matching formed a peer pair or roundtable."""

    group_id: Id = Field(examples=["grp_17"])
    program_id: Id
    name: str = Field(min_length=1, max_length=200, examples=["Roundtable 3"])
    members: list[GroupMember] = Field(min_length=PAIR_SIZE, max_length=ROUNDTABLE_MAX)
    formed_at: AwareDatetime


@event("roundtable.enrollment.group.changed", aggregate="group id")
class GroupChanged(EventData):
    """A group's membership changed; the full member list after the change."""

    group_id: Id
    program_id: Id
    name: str = Field(min_length=1, max_length=200)
    members: list[GroupMember] = Field(min_length=1, max_length=ROUNDTABLE_MAX)
    added_employee_ids: list[Id] = Field(default_factory=list, max_length=ROUNDTABLE_MAX)
    removed_employee_ids: list[Id] = Field(default_factory=list, max_length=ROUNDTABLE_MAX)
    reason: GroupChangeReason
    changed_at: AwareDatetime


@event("roundtable.enrollment.group.dissolved", aggregate="group id")
class GroupDissolved(EventData):
    """A group stopped meeting; its future sessions are cancelled by the sessions service."""

    group_id: Id
    program_id: Id
    reason: DissolveReason
    dissolved_at: AwareDatetime


# --- surveys (subject: survey id; answers: response id) ----------------------------------------------------------------


class SurveyKind(StrEnum):
    PRE_PROGRAM = "pre_program"
    POST_PROGRAM = "post_program"
    PULSE = "pulse"
    """A mid-program relationship pulse, asked of one peer group's members."""


class SurveyQuestionKind(StrEnum):
    NPS = "nps"
    """0 to 10: would you recommend the program to a colleague."""
    SCALE = "scale"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SHORT_TEXT = "short_text"
    """Its answers never leave the enrollment service."""


class SurveyQuestionOutline(BaseModel):
    """What consumers need to know of a question to count its answers: never the answers."""

    model_config = ConfigDict(frozen=True)

    question_id: Id
    kind: SurveyQuestionKind
    label: str = Field(
        min_length=1, max_length=300, examples=["How confident are you as a leader?"]
    )
    scale_min: int | None = Field(default=None, ge=0, le=10)
    scale_max: int | None = Field(default=None, ge=1, le=10)
    option_ids: list[Id] = Field(default_factory=list, max_length=30)
    built_in: bool = Field(
        description="One of Roundtable's own questions (comparable across programs)."
    )


MAX_SURVEY_QUESTIONS = 30


@event("roundtable.enrollment.survey.opened", aggregate="survey id")
class SurveyOpened(EventData):
    """A program admin opened a survey for the program's active participants (a pulse: a group's)."""

    # Who is asked is fixed at ``opened_at``; ``asked`` counts them, for response rates.

    survey_id: Id = Field(examples=["srv_51c2"])
    program_id: Id
    kind: SurveyKind
    group_id: Id | None = Field(default=None, description="A pulse's group; none otherwise.")
    questions: list[SurveyQuestionOutline] = Field(min_length=1, max_length=MAX_SURVEY_QUESTIONS)
    asked: int = Field(ge=0, description="How many people the survey asks.")
    opened_at: AwareDatetime
    closes_at: AwareDatetime

    @model_validator(mode="after")
    def _closes_after_opening(self) -> Self:
        if self.closes_at <= self.opened_at:
            raise ValueError("closes_at is not after opened_at")
        if (self.kind is SurveyKind.PULSE) != (self.group_id is not None):
            raise ValueError("a pulse, and only a pulse, names its group")
        return self


@event("roundtable.enrollment.survey.closed", aggregate="survey id")
class SurveyClosed(EventData):
    """A survey stopped taking answers: its close time passed, or its admin or program closed it."""

    survey_id: Id
    program_id: Id
    closed_at: AwareDatetime


@event("roundtable.enrollment.survey.answered", aggregate="response id")
class SurveyAnswered(EventData):
    """A participant answered a survey, or changed their answers while it was open."""

    # The same ``response_id`` with a later ``answered_at`` replaces the earlier answers; a
    # consumer keeps the latest. Numbers and chosen option ids only: short-text answers stay in
    # the enrollment service.
    survey_id: Id
    response_id: Id = Field(description="One per person and survey.")
    program_id: Id
    kind: SurveyKind
    group_id: Id | None = None
    employee_id: Id = Field(description="Who answered: for nudges; reporting never shows one.")
    scores: dict[Id, int] = Field(
        default_factory=dict, description="Question id -> the number given (nps, scale)."
    )
    choices: dict[Id, list[Id]] = Field(
        default_factory=dict, description="Question id -> chosen option ids (choice questions)."
    )
    answered_at: AwareDatetime
