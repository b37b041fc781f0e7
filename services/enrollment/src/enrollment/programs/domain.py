"""Peer programs: their settings, life cycle and eligibility rules. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from enrollment.questions.domain import (
    MAX_QUESTIONS,
    Questions,
    Scale,
    ShortText,
    Slug,
    duplicate_ids,
)
from roundtable_shared.bounded import MAX_SPONSORS, Seats, SessionMinutes, TenureDays
from roundtable_shared.events.catalogue.enrollment import (
    PAIR_SIZE,
    ROUNDTABLE_MAX,
    ROUNDTABLE_MIN,
    Cadence,
    EmploymentStatus,
    ProgramCreated,
    ProgramFormat,
    ProgramOrigin,
    ProgramStatus,
    ProgramUpdated,
    ReminderSettings,
    TimeZoneName,
)

Id = Annotated[str, Field(min_length=1, max_length=128)]
GroupSize = Annotated[int, Field(ge=PAIR_SIZE, le=ROUNDTABLE_MAX)]
MAX_FILTER_VALUES = 1_000  # levels, departments or locations one eligibility rule may name
TimeOfDay = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["09:00"])]


class Leftover(StrEnum):
    """What happens to a participant matching cannot place in a full group."""

    TRIAD = "triad"  # joins a pair (or the roundtable with room) as an extra member
    WAIT = "wait"  # waits for the next round


class Weights(BaseModel):
    """How much each preference counts in a group's score (0 ignores it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    similar_level: float = Field(1.0, ge=0, le=10)
    shared_interests: float = Field(1.0, ge=0, le=10)
    different_departments: float = Field(1.0, ge=0, le=10)
    variety: float = Field(
        0.5, ge=0, le=10, description="Members from different locations (not departments)."
    )
    meeting_preference: float = Field(
        1.0,
        ge=0,
        le=10,
        description="Members who can meet the way each prefers (remote, in person, either).",
    )


class QuestionMatch(StrEnum):
    """How a matching rule compares two members' answers to one question."""

    SAME = "same"  # the same option (single), overlapping options (multiple), equal (scale)
    DIFFERENT = "different"  # the opposite of same; on a scale: how far apart
    NEAR = "near"  # scale only: the closer the two numbers, the better


class QuestionRule(BaseModel):
    """A matching preference over one choice or scale question of the program."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question_id: Slug
    match: QuestionMatch
    weight: float = Field(1.0, ge=0, le=10)


class MatchingRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    separate_manager_and_report: bool = Field(
        True, description="Never group someone with their manager."
    )
    separate_skip_level: bool = Field(
        True, description="Never group someone with their manager's manager."
    )
    separate_same_manager: bool = Field(
        True, description="Never group two people with the same direct manager."
    )
    min_overlap_hours: float = Field(
        2.0, ge=0, le=24, description="Working hours all members share, across time zones."
    )
    working_hours_start: TimeOfDay = "09:00"
    working_hours_end: TimeOfDay = "17:00"
    weights: Weights = Field(default_factory=Weights)
    questions: list[QuestionRule] = Field(
        default_factory=list,
        max_length=MAX_QUESTIONS,
        description="Preferences over the program's choice and scale questions.",
    )
    leftover: Leftover = Leftover.TRIAD


class Eligibility(BaseModel):
    """Who may enrol; an empty list does not restrict. The allow-list admits regardless."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES
    )
    departments: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES
    )
    locations: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES
    )
    min_tenure_days: TenureDays | None = None
    allow_list: list[Id] = Field(default_factory=list, max_length=10_000)


DEFAULT_REMINDERS = ReminderSettings(
    before_session_minutes=[1440, 60], before_action_due_hours=[48]
)


class ProgramSettings(BaseModel):
    """Everything a program admin sets."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["LEADForward Roundtables 2026"])
    description: str = Field("", max_length=5000)
    sponsor_ids: list[Id] = Field(default_factory=list, max_length=MAX_SPONSORS)
    format: ProgramFormat = ProgramFormat.ROUNDTABLE
    group_size_min: GroupSize = ROUNDTABLE_MIN
    group_size_max: GroupSize = 6
    eligibility: Eligibility = Field(default_factory=Eligibility)
    capacity: Seats | None = None
    enrolment_opens_at: AwareDatetime | None = None
    enrolment_closes_at: AwareDatetime | None = None
    cadence: Cadence = Cadence.BIWEEKLY
    session_duration_minutes: SessionMinutes = 60
    time_zone: TimeZoneName = "UTC"
    starts_on: date | None = None
    ends_on: date | None = None
    reminders: ReminderSettings = DEFAULT_REMINDERS
    matching: MatchingRules = Field(default_factory=MatchingRules)
    questions: Questions = Field(
        default_factory=list,
        description="Enrolment questions participants answer (their ids are stable).",
    )

    @model_validator(mode="after")
    def _questions_and_rules(self) -> Self:
        """Question ids are distinct; each matching rule uses one choice or scale question of
        this program, once; `near` compares numbers, so only a scale has it."""
        twice = duplicate_ids(self.questions)
        if twice:
            raise ValueError(f"question ids must be distinct: {', '.join(twice)}")
        asked = {q.id: q for q in self.questions}
        ruled = [r.question_id for r in self.matching.questions]
        if len(set(ruled)) != len(ruled):
            raise ValueError("matching.questions: one rule per question")
        for rule in self.matching.questions:
            question = asked.get(rule.question_id)
            if question is None:
                raise ValueError(f"matching rule on {rule.question_id}: no such question")
            if isinstance(question, ShortText):
                raise ValueError(f"matching rule on {rule.question_id}: text is not matched on")
            if rule.match is QuestionMatch.NEAR and not isinstance(question, Scale):
                raise ValueError(f"matching rule on {rule.question_id}: near needs a scale")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.group_size_min > self.group_size_max:
            raise ValueError("group_size_min is larger than group_size_max")
        if self.format is ProgramFormat.PAIRS and (
            self.group_size_min != PAIR_SIZE or self.group_size_max != PAIR_SIZE
        ):
            raise ValueError("a pairs program has groups of exactly 2 (group_size_min/max = 2)")
        if self.format is ProgramFormat.ROUNDTABLE and self.group_size_min < ROUNDTABLE_MIN:
            raise ValueError("a roundtable has 3 to 8 members")
        if (
            self.enrolment_opens_at
            and self.enrolment_closes_at
            and self.enrolment_opens_at >= self.enrolment_closes_at
        ):
            raise ValueError("enrolment_closes_at must be after enrolment_opens_at")
        if self.starts_on and self.ends_on and self.starts_on > self.ends_on:
            raise ValueError("ends_on must not be before starts_on")
        if self.matching.working_hours_start >= self.matching.working_hours_end:
            raise ValueError("matching.working_hours_end must be after working_hours_start")
        return self


class Program(BaseModel):
    program_id: str
    settings: ProgramSettings
    status: ProgramStatus = ProgramStatus.DRAFT
    created_at: datetime
    copied_from: ProgramOrigin | None = None
    """The template or program it was created from (their guide and messages follow it)."""


# --- life cycle ----------------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[set[ProgramStatus], ProgramStatus]] = {
    "open": ({ProgramStatus.DRAFT}, ProgramStatus.OPEN),
    "start": ({ProgramStatus.OPEN}, ProgramStatus.RUNNING),
    "close": (
        {ProgramStatus.DRAFT, ProgramStatus.OPEN, ProgramStatus.RUNNING},
        ProgramStatus.CLOSED,
    ),
}
EDITABLE = {ProgramStatus.DRAFT, ProgramStatus.OPEN}


class TransitionRefused(Exception):
    pass


def transition(program: Program, action: str) -> ProgramStatus:
    allowed_from, target = TRANSITIONS[action]
    if program.status not in allowed_from:
        raise TransitionRefused(
            f"a {program.status.value} program cannot {action} "
            f"(allowed from: {', '.join(sorted(s.value for s in allowed_from))})"
        )
    return target


def snapshot_fields(program: Program) -> dict[str, Any]:
    s = program.settings
    return {
        "program_id": program.program_id,
        "name": s.name,
        "status": program.status,
        "format": s.format,
        "group_size_min": s.group_size_min,
        "group_size_max": s.group_size_max,
        "cadence": s.cadence,
        "session_duration_minutes": s.session_duration_minutes,
        "time_zone": s.time_zone,
        "starts_on": s.starts_on,
        "ends_on": s.ends_on,
        "capacity": s.capacity,
        "sponsor_ids": s.sponsor_ids,
        "reminders": s.reminders,
    }


def created_event(program: Program) -> ProgramCreated:
    return ProgramCreated(
        **snapshot_fields(program), created_at=program.created_at, copied_from=program.copied_from
    )


def updated_event(program: Program, at: datetime) -> ProgramUpdated:
    return ProgramUpdated(**snapshot_fields(program), updated_at=at)


# --- seats --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeatClaim:
    """A seat taken for an enrolment (or a promotion from the waitlist) that is not saved yet.

    The program's counter counts it from the moment it is taken; once the enrolment is saved the
    claim is dropped (the enrolment holds the seat). While a claim is young no count corrects the
    counter (it would miss the enrolment on its way); one still there long after it was taken
    belongs to a change that died in between."""

    participant_id: str
    taken_at: datetime

    def abandoned(self, now: datetime, grace: timedelta) -> bool:
        return now - self.taken_at > grace


@dataclass(frozen=True)
class SeatCounter:
    """A program's seats as stored: how many are held, the claims not yet settled, and the
    enrolments whose seat was given back while their withdrawal still asks for it."""

    held: int
    changes: int
    """Grows with every change of the seats: a correction applies only if none came between."""
    claims: tuple[SeatClaim, ...]
    released: tuple[str, ...]

    def may_recount(self, now: datetime, grace: timedelta) -> bool:
        """Whether a count of the holders can set the counter right: not while a claim is
        young, since its enrolment may still be on its way to being saved and a count would
        miss it. Abandoned claims (a crash) and a counter left high by an older drift are what
        a count corrects."""
        return all(c.abandoned(now, grace) for c in self.claims)

    def corrected_by(self, holders: int) -> bool:
        """Whether a count of ``holders`` changes anything (else no write is needed)."""
        return holders != self.held or bool(self.claims)


# --- eligibility ---------------------------------------------------------------------------------


class EmployeeFacts(BaseModel):
    """What eligibility looks at, from the directory."""

    employee_id: str
    status: EmploymentStatus | None
    level: str | None = None
    department: str | None = None
    location: str | None = None
    hire_date: date | None = None


def ineligibility_reasons(program: Program, who: EmployeeFacts | None, today: date) -> list[str]:
    """Why this employee may not enrol (empty: they may)."""
    if who is None:
        return ["you are not in the employee directory yet"]
    if who.status is not EmploymentStatus.ACTIVE:
        state = who.status.value.replace("_", " ") if who.status else "unknown"
        return [f"your employment status is {state}"]
    rules = program.settings.eligibility
    if who.employee_id in rules.allow_list:
        return []
    reasons: list[str] = []
    if rules.levels and (who.level or "") not in rules.levels:
        reasons.append(f"open to levels {', '.join(rules.levels)}")
    if rules.departments and (who.department or "") not in rules.departments:
        reasons.append(f"open to departments {', '.join(rules.departments)}")
    if rules.locations and (who.location or "") not in rules.locations:
        reasons.append(f"open to locations {', '.join(rules.locations)}")
    if rules.min_tenure_days:
        tenure = (today - who.hire_date).days if who.hire_date else None
        if tenure is None or tenure < rules.min_tenure_days:
            reasons.append(f"needs at least {rules.min_tenure_days} days with the company")
    return reasons


def enrolment_window_reason(program: Program, now: datetime) -> str | None:
    if program.status is not ProgramStatus.OPEN:
        return f"the program is {program.status.value}, not open for enrolment"
    s = program.settings
    if s.enrolment_opens_at and now < s.enrolment_opens_at:
        return "enrolment has not opened yet"
    if s.enrolment_closes_at and now >= s.enrolment_closes_at:
        return "enrolment has closed"
    return None


_LEVEL_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def level_rank(level: str | None) -> float | None:
    """``"L5"`` -> 5.0; None when the level has no number in it."""
    if not level:
        return None
    match = _LEVEL_NUMBER.search(level)
    return float(match.group(1)) if match else None
