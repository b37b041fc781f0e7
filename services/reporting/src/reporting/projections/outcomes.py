"""Projections for the sponsors' outcome figures: surveys, their responses, and the company's
headcount and terminations (for retention against the rest of the company).

What is kept is what the figures count, nothing that names anyone:

- a survey: its program, kind, pulse group, questions (outline only), how many it asked, when
  it opened, closes and closed;
- a response (``SurveyAnswered``, one per person and survey): the survey, the numbers given
  (nps and scale questions) and when; never the employee id, so an erasure has no link to
  remove, and a replay rebuilds the same copies. The latest (by the response's version) wins;
- a survey's ``tallies`` (one document per survey, so a sponsor's read costs one document per
  survey, not one per answer): ``responded``, and per question (a digest of its id) how many
  gave each number; reconciled from the responses, so a changed answer moves its counts and an
  answer dated after the survey closed counts nowhere;
- an employee: the id and whether and when they were terminated; the company's ``directory``
  counters (``employees``, ``terminated.<day>``) are reconciled from those copies, and each
  participant's retention contribution to their program's totals (``r.participants``,
  ``r.known``, ``r.terminated.<day>``) from their person and employee copies, so a
  redelivered or reordered event changes nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from reporting.projections.batch import Batch, Key
from reporting.projections.readmodel import person_id
from roundtable_shared.events.catalogue import enrollment as en
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.storage.mongo import IDS_PER_READ, in_bulks

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


def question_key(question_id: str) -> str:
    """A question's name in a tally: its id may hold dots or ``$``, a field name may not."""
    return hashlib.sha256(question_id.encode()).hexdigest()[:16]


def _response_counted(b: Batch, response_id: str) -> None:
    """What a response adds to its survey's tally: nothing when given after the survey closed
    (a closed survey's figures never move)."""
    response = b.doc("responses", response_id)
    survey_id = response.get("survey_id")
    if not survey_id:
        return
    closed_at = b.doc("surveys", str(survey_id)).get("closed_at")
    desired: dict[str, int] = {}
    if closed_at is None or _utc(response["answered_at"]) <= _utc(closed_at):
        desired["responded"] = 1
        for score in response.get("scores") or []:
            desired[f"q.{question_key(str(score['q']))}.{int(score['v'])}"] = 1
    b.reconcile("responses", response_id, "counted", desired, [(("tallies", str(survey_id)), "")])


def survey_closed(b: Batch, envelope: Envelope, data: en.SurveyClosed) -> None:
    # Closing is final: the first close time stays, whatever the order of the survey's events.
    if b.doc("surveys", data.survey_id).get("closed_at") is None:
        fields = {"program_id": data.program_id, "closed_at": _utc(data.closed_at)}
        b.set_fields("surveys", data.survey_id, fields)
        for response in b.docs("responses"):  # those answered after the close count no more
            if response.get("survey_id") == data.survey_id:
                _response_counted(b, str(response["_id"]))


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
    if b.set_if_newer("responses", data.response_id, "version", envelope.aggregateversion, fields):
        _response_counted(b, data.response_id)


def _employee_counted(b: Batch, employee_id: str) -> None:
    employee = b.doc("employees", employee_id)
    desired = {"employees": 1}
    terminated_at = employee.get("terminated_at")
    if isinstance(terminated_at, datetime):
        desired[f"terminated.{_utc(terminated_at).date().isoformat()}"] = 1
    b.reconcile("employees", employee_id, "counted", desired, [(COMPANY, "")])
    for person in b.docs("persons"):  # the participants this employee is, in any program
        if person.get("employee_id") == employee_id:
            participant_retention(b, str(person["_id"]))


def participant_retention(b: Batch, pid: str) -> None:
    """What a participant adds to their program's retention counters: one participant, known
    to the directory or not, terminated on a day or not."""
    person = b.doc("persons", pid)
    program_id, employee_id = person.get("program_id"), person.get("employee_id")
    if not program_id or not employee_id:
        return
    desired: dict[str, int] = {}
    if person.get("enrolled"):
        employee = b.doc("employees", str(employee_id))
        desired["participants"] = 1
        if "version" in employee:
            desired["known"] = 1
        terminated_at = employee.get("terminated_at")
        if isinstance(terminated_at, datetime):
            desired[f"terminated.{_utc(terminated_at).date().isoformat()}"] = 1
    targets = [(b.totals(str(program_id)), "r.")]
    b.reconcile("persons", pid, "counted_retention", desired, targets)


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
    people: set[str] = set()
    for _, data in events:
        if isinstance(data, en.SurveyOpened | en.SurveyClosed):
            surveys.add(data.survey_id)
        elif isinstance(data, en.SurveyAnswered):
            surveys.add(data.survey_id)
            responses.add(data.response_id)
        elif isinstance(data, en.EmployeeUpserted | en.EmployeeOffboarded):
            employees.add(data.employee_id)
        elif isinstance(data, en.ParticipantEnrolled):
            employees.add(data.employee_id)
            people.add(person_id(data.program_id, data.employee_id))
    await b.load("surveys", surveys)
    await b.load("responses", responses)
    await b.load("employees", employees)
    await b.load("persons", people)
    directory = sorted(
        {
            d.employee_id
            for _, d in events
            if isinstance(d, en.EmployeeUpserted | en.EmployeeOffboarded)
        }
    )
    for part in in_bulks(directory, IDS_PER_READ):  # the participants they are: one read
        await b.load_where("persons", {"employee_id": {"$in": list(part)}})
    for _, data in events:  # rare events that touch many copies: found by an indexed field
        if isinstance(data, en.SurveyClosed):
            await b.load_where("responses", {"survey_id": data.survey_id})
