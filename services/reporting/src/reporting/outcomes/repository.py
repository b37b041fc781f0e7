"""Reading the outcome figures' inputs: a program's surveys and responses (by the indexed
program id), its participants' directory copies (by id), and the company's counters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reporting.outcomes.domain import Headcount, Participant, Question, Response, Survey
from reporting.projections.outcomes import COMPANY
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


async def responses(models: ReadModels, program_id: str) -> list[Response]:
    cursor = models.collection("responses").find(
        {"program_id": program_id}, {"survey_id": 1, "scores": 1, "answered_at": 1}
    )
    return [
        Response(
            survey_id=str(doc["survey_id"]),
            scores={str(s["q"]): int(s["v"]) for s in doc.get("scores") or []},
            answered_at=doc["answered_at"],
        )
        async for doc in cursor
    ]


async def started_at(models: ReadModels, program_id: str) -> datetime | None:
    doc = await models.programs.find_one({"_id": program_id}, {"started_at": 1})
    value = (doc or {}).get("started_at")
    return value if isinstance(value, datetime) else None


async def participants(models: ReadModels, program_id: str) -> list[Participant]:
    """Everyone who enrolled in the program (withdrawn too), as the directory copies know them."""
    cursor = models.persons.find({"program_id": program_id}, {"employee_id": 1, "enrolled": 1})
    ids = [
        str(d["employee_id"]) async for d in cursor if d.get("enrolled") and d.get("employee_id")
    ]
    copies = {str(d["_id"]): d for d in await find_by_ids(models.collection("employees"), ids)}
    out = []
    for employee_id in ids:
        copy = copies.get(employee_id)
        terminated_at = (copy or {}).get("terminated_at")
        out.append(
            Participant(
                in_directory=copy is not None and "version" in copy,
                terminated_on=terminated_at.date() if isinstance(terminated_at, datetime) else None,
            )
        )
    return out


async def headcount(models: ReadModels) -> Headcount:
    doc = await models.collection(COMPANY[0]).find_one({"_id": COMPANY[1]}) or {}
    days: Mapping[str, Any] = doc.get("terminated") or {}
    return Headcount(
        employees=int(doc.get("employees") or 0),
        terminated_by_day={str(day): int(n) for day, n in days.items() if int(n)},
    )
