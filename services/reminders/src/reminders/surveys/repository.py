"""Surveys as reminders keeps them for nudges: who each asked (fixed when it opened), whether it
closed, and which people answered. Ids and times only: no question, no answer."""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from reminders.surveys.domain import OpenSurvey
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes

SURVEYS = "survey_nudges"
ANSWERS = "survey_answers"
SURVEY_INDEXES = [
    Indexes(
        ANSWERS, [IndexModel([("survey_id", ASCENDING)]), IndexModel([("employee_id", ASCENDING)])]
    )
]


class SurveyRepository:
    def __init__(self, db: Database) -> None:
        self.surveys: Collection = db[SURVEYS]
        self.answers: Collection = db[ANSWERS]

    async def get(self, survey_id: str) -> Document | None:
        return await self.surveys.find_one({"_id": survey_id})

    async def record_opening(self, survey: OpenSurvey, asked_ids: list[str]) -> Document:
        """The survey with who it asks; the first opening recorded wins (a redelivery, or a
        replica that got there first, keeps the people chosen then)."""
        fields: dict[str, Any] = {
            "program_id": survey.program_id,
            "kind": str(survey.kind),
            "group_id": survey.group_id,
            "opened_at": survey.opened_at,
            "closes_at": survey.closes_at,
            "asked_ids": asked_ids,
        }
        # A duplicate key: recorded already, with its own people.
        with contextlib.suppress(DuplicateKeyError):
            await self.surveys.update_one(
                {"_id": survey.survey_id, "asked_ids": {"$exists": False}},
                {"$set": fields},
                upsert=True,
            )
        doc = await self.get(survey.survey_id)
        assert doc is not None  # just written; surveys are never deleted
        return doc

    async def mark_planned(self, survey_id: str) -> None:
        await self.surveys.update_one({"_id": survey_id}, {"$set": {"planned": True}})

    async def close(self, survey_id: str, program_id: str) -> Document:
        """Closing is final; recorded even before the opening is (events of one survey may be
        applied out of order after a redelivery)."""
        await self.surveys.update_one(
            {"_id": survey_id}, {"$set": {"closed": True, "program_id": program_id}}, upsert=True
        )
        doc = await self.get(survey_id)
        assert doc is not None
        return doc

    async def record_answer(self, response_id: str, survey_id: str, employee_id: str) -> None:
        await self.answers.update_one(
            {"_id": response_id},
            {"$set": {"survey_id": survey_id, "employee_id": employee_id}},
            upsert=True,
        )

    async def answered_by(self, survey_id: str) -> set[str]:
        cursor = self.answers.find({"survey_id": survey_id}, {"employee_id": 1})
        return {str(doc["employee_id"]) async for doc in cursor}

    async def forget(self, employee_id: str) -> None:
        """Erasure: which surveys asked this person and which they answered. Repeatable."""
        await self.answers.delete_many({"employee_id": employee_id})
        await self.surveys.update_many(
            {"asked_ids": employee_id}, {"$pull": {"asked_ids": employee_id}}
        )
