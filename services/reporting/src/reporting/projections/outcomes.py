"""Projections for the sponsors' outcome figures: surveys, their responses, and the company's
headcount and terminations (for retention against the rest of the company).

What is kept is what the figures count, nothing that names anyone:

- a survey: its program, kind, pulse group, questions (outline only), how many it asked, when
  it opened, closes and closed;
- a response (``SurveyAnswered``, one per person and survey): the survey, the numbers given
  (nps and scale questions) and when; never the employee id, so an erasure has no link to
  remove, and a replay rebuilds the same copies. The latest (by the response's version) wins;
- an employee: the id and whether and when they were terminated; the company's ``directory``
  counters (``employees``, ``terminated.<day>``) are reconciled from those copies, so a
  redelivered or reordered event changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from reporting.projections.batch import Batch, Key
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.envelope import Envelope, EventData

COMPANY: Key = ("directory", "company")
"""The one document of the company's counters (employees, terminations by day)."""
MAX_SCORE = 10
SCORED = (en.SurveyQuestionKind.NPS, en.SurveyQuestionKind.SCALE)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def survey_opened(b: Batch, envelope: Envelope, data: en.SurveyOpened) -> None:
    questions = [
        {
            "question_id": q.question_id,
            "kind": str(q.kind),
            "label": q.label,
            "built_in": q.built_in,
            "scale_min": 0 if q.kind is en.SurveyQuestionKind.NPS else q.scale_min,
            "scale_max": 10 if q.kind is en.SurveyQuestionKind.NPS else q.scale_max,
        }
        for q in data.questions
        if q.kind in SCORED  # only numbers are counted; choice and text questions are not shown
    ]
    fields = {
        "program_id": data.program_id,
        "kind": str(data.kind),
        "group_id": data.group_id,
        "asked": data.asked,
        "questions": questions,
        "opened_at": _utc(data.opened_at),
        "closes_at": _utc(data.closes_at),
    }
    b.set_if_newer("surveys", data.survey_id, "version", envelope.aggregateversion, fields)


def survey_closed(b: Batch, envelope: Envelope, data: en.SurveyClosed) -> None:
    # Closing is final: the first close time stays, whatever the order of the survey's events.
    if b.doc("surveys", data.survey_id).get("closed_at") is None:
        fields = {"program_id": data.program_id, "closed_at": _utc(data.closed_at)}
        b.set_fields("surveys", data.survey_id, fields)


def survey_answered(b: Batch, envelope: Envelope, data: en.SurveyAnswered) -> None:
    # A list of pairs, not a {question id: score} document: ids may hold dots. No question
    # scores outside 0 to 10 (the contract's widest scale): anything else is not kept.
    scores = [{"q": q, "v": v} for q, v in sorted(data.scores.items()) if 0 <= v <= MAX_SCORE]
    fields = {
        "survey_id": data.survey_id,
        "program_id": data.program_id,
        "kind": str(data.kind),
        "scores": scores,
        "answered_at": _utc(data.answered_at),
    }
    b.set_if_newer("responses", data.response_id, "version", envelope.aggregateversion, fields)


def _employee_counted(b: Batch, employee_id: str) -> None:
    employee = b.doc("employees", employee_id)
    desired = {"employees": 1}
    terminated_at = employee.get("terminated_at")
    if isinstance(terminated_at, datetime):
        desired[f"terminated.{_utc(terminated_at).date().isoformat()}"] = 1
    b.reconcile("employees", employee_id, "counted", desired, [(COMPANY, "")])


def employee_upserted(b: Batch, envelope: Envelope, data: en.EmployeeUpserted) -> None:
    employee = b.doc("employees", data.employee_id)
    terminated = data.employment_status is en.EmploymentStatus.TERMINATED
    # A termination keeps the time it was first known at (offboarded_at, when that came first).
    terminated_at = (employee.get("terminated_at") or _utc(data.updated_at)) if terminated else None
    fields = {"status": str(data.employment_status), "terminated_at": terminated_at}
    if b.set_if_newer("employees", data.employee_id, "version", envelope.aggregateversion, fields):
        _employee_counted(b, data.employee_id)


def employee_offboarded(b: Batch, envelope: Envelope, data: en.EmployeeOffboarded) -> None:
    fields = {
        "status": str(en.EmploymentStatus.TERMINATED),
        "terminated_at": _utc(data.offboarded_at),
    }
    if b.set_if_newer("employees", data.employee_id, "version", envelope.aggregateversion, fields):
        _employee_counted(b, data.employee_id)


def program_started(b: Batch, envelope: Envelope, data: en.ProgramStarted) -> None:
    v = envelope.aggregateversion
    b.set_if_newer("programs", data.program_id, "status_version", v, {"status": "running"})
    # When the program started is fixed once: retention counts terminations from then on.
    if b.doc("programs", data.program_id).get("started_at") is None:
        b.set_fields("programs", data.program_id, {"started_at": _utc(data.started_at)})


OUTCOME_HANDLERS: dict[type[EventData], Any] = {
    en.ProgramStarted: program_started,
    en.EmployeeUpserted: employee_upserted,
    en.EmployeeOffboarded: employee_offboarded,
    en.SurveyOpened: survey_opened,
    en.SurveyClosed: survey_closed,
    en.SurveyAnswered: survey_answered,
}


async def load_for_outcomes(b: Batch, events: Sequence[tuple[Envelope, EventData]]) -> None:
    """Read the copies these handlers look at: one query per collection."""
    surveys: set[str] = set()
    responses: set[str] = set()
    employees: set[str] = set()
    for _, data in events:
        if isinstance(data, en.SurveyOpened | en.SurveyClosed):
            surveys.add(data.survey_id)
        elif isinstance(data, en.SurveyAnswered):
            responses.add(data.response_id)
        elif isinstance(data, en.EmployeeUpserted | en.EmployeeOffboarded):
            employees.add(data.employee_id)
    await b.load("surveys", surveys)
    await b.load("responses", responses)
    await b.load("employees", employees)
