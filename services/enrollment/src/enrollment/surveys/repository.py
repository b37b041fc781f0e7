"""Surveys and survey responses in MongoDB, one document each with its outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import IndexModel

from enrollment.surveys.domain import Survey, SurveyResponse, SurveyStatus, open_slot
from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Collection, Document, Indexes, by_ids

SURVEYS = "surveys"
RESPONSES = "survey_responses"
INDEXES = [
    Indexes(
        SURVEYS,
        [
            IndexModel([("program_id", 1)]),
            IndexModel([("status", 1)]),
            IndexModel([("asked", 1)]),
            # One open survey per slot, held by the server even when two admins open at once.
            IndexModel([("open_slot", 1)], unique=True),
        ],
    ),
    Indexes(RESPONSES, [IndexModel([("survey_id", 1)]), IndexModel([("employee_id", 1)])]),
]
OUTBOXES = (SURVEYS, RESPONSES)
STORED = ("outbox", "version", "request_fingerprint", "open_slot")


def _document(survey: Survey) -> Document:
    return {**survey.model_dump(mode="json"), "open_slot": open_slot(survey)}


def _fields(document: Document, id_field: str) -> dict[str, Any]:
    fields = {k: v for k, v in document.items() if k not in STORED}
    fields[id_field] = fields.pop("_id")
    return fields


class SurveyRepository:
    def __init__(self, store: AggregateStore) -> None:
        """``store``: the ``surveys`` collection's (``ServiceRuntime.aggregate_store``)."""
        self.store = store
        self.collection: Collection = store.collection

    async def insert(self, survey: Survey, events: Sequence[EventData], fingerprint: str) -> int:
        """AlreadyExists when a survey with this id exists (a retried request) or one holding
        its slot is open (``open_slot``)."""
        document = _document(survey)
        document["_id"] = document.pop("survey_id")
        return await self.store.insert({**document, "request_fingerprint": fingerprint}, events)

    async def load(self, survey_id: str) -> tuple[Survey, int, str | None] | None:
        """(survey, version, the fingerprint of the request that opened it)."""
        document = await self.collection.find_one({"_id": survey_id}, {"outbox": 0})
        if document is None:
            return None
        survey = Survey.model_validate(_fields(document, "survey_id"))
        return survey, int(document["version"]), document.get("request_fingerprint")

    async def save(self, survey: Survey, version: int, events: Sequence[EventData]) -> int | None:
        document = _document(survey)
        del document["survey_id"]
        return await self.store.update(survey.survey_id, version, {"$set": document}, events)

    async def of_program(
        self, program_id: str, after: str | None = None, limit: int = 0
    ) -> list[tuple[Survey, int]]:
        query: dict[str, Any] = {"program_id": program_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        return await self._find(query, limit)

    async def open_of_program(self, program_id: str) -> list[tuple[Survey, int]]:
        return await self._find({"program_id": program_id, "status": SurveyStatus.OPEN.value})

    async def open_asking(self, employee_id: str) -> list[tuple[Survey, int]]:
        """Open surveys whose asked list names the employee (by the multikey ``asked`` index)."""
        return await self._find({"asked": employee_id, "status": SurveyStatus.OPEN.value})

    async def all_open(self) -> list[tuple[Survey, int]]:
        """Every survey still recorded open (the closing pass; few at any time)."""
        return await self._find({"status": SurveyStatus.OPEN.value})

    async def _find(self, query: dict[str, Any], limit: int = 0) -> list[tuple[Survey, int]]:
        cursor = self.collection.find(query, {"outbox": 0}).sort("_id", 1)
        if limit:
            cursor = cursor.limit(limit)
        return [
            (Survey.model_validate(_fields(d, "survey_id")), int(d["version"]))
            async for d in cursor
        ]


class ResponseRepository:
    def __init__(self, store: AggregateStore) -> None:
        """``store``: the ``survey_responses`` collection's."""
        self.store = store
        self.collection: Collection = store.collection

    async def insert(self, response: SurveyResponse, events: Sequence[EventData]) -> int:
        """AlreadyExists when the person answered already (their first answer raced this)."""
        document = response.model_dump(mode="json")
        document["_id"] = document.pop("response_id")
        return await self.store.insert(document, events)

    async def load(self, response_id: str) -> tuple[SurveyResponse, int] | None:
        document = await self.collection.find_one({"_id": response_id}, {"outbox": 0})
        if document is None:
            return None
        return _response(document)

    async def save(
        self, response: SurveyResponse, version: int, events: Sequence[EventData]
    ) -> int | None:
        document = response.model_dump(mode="json", exclude={"response_id"})
        return await self.store.update(response.response_id, version, {"$set": document}, events)

    async def many(self, response_ids: Sequence[str]) -> list[tuple[SurveyResponse, int]]:
        return [_response(d) for d in await by_ids(self.collection, response_ids, {"outbox": 0})]

    async def of_employee(self, employee_id: str) -> list[tuple[SurveyResponse, int]]:
        cursor = self.collection.find({"employee_id": employee_id}, {"outbox": 0}).sort("_id", 1)
        return [_response(d) async for d in cursor]

    async def count_of(self, survey_id: str) -> int:
        return await self.collection.count_documents({"survey_id": survey_id})


def _response(document: Document) -> tuple[SurveyResponse, int]:
    return SurveyResponse.model_validate(_fields(document, "response_id")), int(document["version"])
