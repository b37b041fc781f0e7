"""Survey nudges: who a survey still owes an answer and when to nudge them (pure: no I/O).

A survey (enrollment's) asks the program's active participants, a pulse only its group's
members. Who is asked is fixed when reminders learns the survey opened. Each of them still
owing an answer is nudged at most twice: once ``AFTER_OPENING`` after it opened and once
``BEFORE_CLOSING`` before it closes, never at or after its close, never once they answered
(their nudges are cancelled), never if they were not asked. A nudge's id comes from the
survey, the person and which nudge it is, so a redelivered event plans nobody twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reminders.broadcasts.domain import ProgramRoster
from reminders.schedule.domain import Plan, reminder_id
from roundtable_shared.events.catalogue.enrollment import SurveyKind
from roundtable_shared.events.catalogue.reminders import ReminderKind

AFTER_OPENING = timedelta(days=3)
BEFORE_CLOSING = timedelta(days=2)
CLOSE_TOGETHER = timedelta(days=1)
WHICH = ("after-opening", "before-closing")


@dataclass(frozen=True)
class OpenSurvey:
    survey_id: str
    program_id: str
    kind: SurveyKind
    group_id: str | None
    opened_at: datetime
    closes_at: datetime


def asked(survey: OpenSurvey, roster: ProgramRoster, group_members: Iterable[str]) -> list[str]:
    """Who the survey asks, in a stable order: a pulse its group's members, any other survey
    the program's active participants (enrolled, not paused, not withdrawn)."""
    if survey.kind is SurveyKind.PULSE:
        return sorted(set(group_members))
    return sorted(roster.active)


def nudge_times(opened_at: datetime, closes_at: datetime) -> dict[str, datetime]:
    """When a person still owing an answer is nudged, by which nudge it is: each strictly
    between the opening and the close. In a short survey the first is left out unless it comes
    at least ``CLOSE_TOGETHER`` before the second (two nudges a day apart are one too many)."""
    first, second = opened_at + AFTER_OPENING, closes_at - BEFORE_CLOSING
    kept: dict[str, datetime] = {}
    if opened_at < first < closes_at and (
        not opened_at < second or second - first >= CLOSE_TOGETHER
    ):
        kept[WHICH[0]] = first
    if opened_at < second < closes_at:
        kept[WHICH[1]] = second
    return kept


def nudge_key(survey_id: str, employee_id: str, which: str) -> str:
    return f"survey:{survey_id}:{which}:{employee_id}"


def nudge_ids(survey_id: str, employee_ids: Iterable[str]) -> list[str]:
    """Every nudge a survey can plan for these people (planned or not): what an answer or the
    close cancels."""
    return [reminder_id(nudge_key(survey_id, e, w)) for e in employee_ids for w in WHICH]


def plans(survey: OpenSurvey, owing: Iterable[str], now: datetime) -> list[Plan]:
    """The nudges of the people who still owe an answer; none once the survey's close time
    has passed (an old survey.opened replayed, or read late)."""
    if now >= survey.closes_at:
        return []
    context = {
        "survey_id": survey.survey_id,
        "survey_kind": str(survey.kind),
        "closes_at": survey.closes_at.astimezone(UTC).isoformat(),
    }
    times = nudge_times(survey.opened_at, survey.closes_at)
    return [
        Plan(
            key=nudge_key(survey.survey_id, employee_id, which),
            kind=ReminderKind.SURVEY_NUDGE,
            recipient_id=employee_id,
            program_id=survey.program_id,
            due_at=at,
            group_id=survey.group_id,
            context=context,
        )
        for employee_id in dict.fromkeys(owing)
        for which, at in times.items()
    ]
