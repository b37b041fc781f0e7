"""Reading the outcome figures' inputs: a program's surveys (by the indexed program id) and
their tallies (by id), the program's retention counters (in its totals) and the company's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reporting.outcomes.domain import Headcount, Participants, Question, Survey, Tally
from reporting.projections.outcomes import COMPANY, question_key
from reporting.projections.readmodel import ReadModels
from roundtable_shared.storage.bulk import find_by_ids


def _survey(doc: Mapping[str, Any]) -> Survey:
    return Survey(
        survey_id=str(doc["_id"]),
        kind=str(doc["kind"]),
        group_id=doc.get("group_id"),
        asked=int(doc.get("asked") or 0),
        questions=[
            Question(
                question_id=str(q["question_id"]),
                kind=str(q["kind"]),
                label=str(q["label"]),
                built_in=bool(q.get("built_in")),
                scale_min=q.get("scale_min"),
                scale_max=q.get("scale_max"),
            )
            for q in doc.get("questions") or []
        ],
        opened_at=doc["opened_at"],
        closes_at=doc["closes_at"],
        closed_at=doc.get("closed_at"),
    )


async def surveys(models: ReadModels, program_id: str) -> list[Survey]:
    """The program's surveys in the order they opened; a survey known only from its closing
    (its opening not applied yet) is not one to show."""
    found = [
        _survey(doc)
        async for doc in models.collection("surveys").find({"program_id": program_id})
        if "version" in doc
    ]
    return sorted(found, key=lambda s: (s.opened_at, s.survey_id))


async def tallies(models: ReadModels, surveys: Sequence[Survey]) -> dict[str, Tally]:
    """Each survey's counts (one document per survey, read by id)."""
    found = await find_by_ids(models.collection("tallies"), [s.survey_id for s in surveys])
    docs = {str(doc["_id"]): doc for doc in found}
    out = {}
    for survey in surveys:
        doc = docs.get(survey.survey_id) or {}
        counts: Mapping[str, Mapping[str, Any]] = doc.get("q") or {}
        given = {
            q.question_id: {
                int(v): int(n)
                for v, n in (counts.get(question_key(q.question_id)) or {}).items()
                if int(n) > 0
            }
            for q in survey.questions
        }
        out[survey.survey_id] = Tally(responded=int(doc.get("responded") or 0), given=given)
    return out


async def started_at(models: ReadModels, program_id: str) -> datetime | None:
    doc = await models.programs.find_one({"_id": program_id}, {"started_at": 1})
    value = (doc or {}).get("started_at")
    return value if isinstance(value, datetime) else None


def participants(totals: Mapping[str, Any]) -> Participants:
    """The program's retention counters, from its totals document."""
    counts: Mapping[str, Any] = totals.get("r") or {}
    days: Mapping[str, Any] = counts.get("terminated") or {}
    return Participants(
        participants=int(counts.get("participants") or 0),
        known=int(counts.get("known") or 0),
        terminated_by_day={str(day): int(n) for day, n in days.items() if int(n)},
    )


async def headcount(models: ReadModels) -> Headcount:
    doc = await models.collection(COMPANY[0]).find_one({"_id": COMPANY[1]}) or {}
    days: Mapping[str, Any] = doc.get("terminated") or {}
    return Headcount(
        employees=int(doc.get("employees") or 0),
        terminated_by_day={str(day): int(n) for day, n in days.items() if int(n)},
    )
