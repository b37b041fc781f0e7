"""MongoDB adapter of action steps (one document each, with its outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import IndexModel

from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.pagination import PageRequest
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Indexes
from sessions.action_steps.domain import ActionStatus, ActionStep, HeldSession
from sessions.common import keyset_page, update_between
from sessions.scheduling.repository import SESSIONS

ACTION_STEPS = "action_steps"
INDEXES = [
    Indexes(
        ACTION_STEPS,
        [
            IndexModel([("owner_id", 1), ("due_at", 1), ("_id", 1)]),
            IndexModel([("accountability_partner_id", 1), ("due_at", 1), ("_id", 1)]),
            IndexModel([("session_id", 1)]),
            IndexModel([("comments.author_id", 1)]),
        ],
    )
]
NO_OUTBOX = {"outbox": 0}


class ActionStepRepository:
    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[ACTION_STEPS]
        self.sessions = db[SESSIONS]
        self.store = store

    async def get(self, action_id: str) -> ActionStep | None:
        document = await self.collection.find_one({"_id": action_id}, NO_OUTBOX)
        return ActionStep.model_validate(document) if document else None

    async def add(self, step: ActionStep, events: Sequence[EventData]) -> ActionStep:
        """A new step with its events (``AlreadyExists`` when its id is taken)."""
        version = await self.store.insert(step.document(), events)
        return step.model_copy(update={"version": version})

    async def save(
        self, before: ActionStep, after: ActionStep, events: Sequence[EventData]
    ) -> ActionStep | None:
        """``after`` (what the domain made of ``before``) with its events, if the step is still
        at ``before``'s version; None when someone else changed it first."""
        changes = update_between(before.document(), after.document())
        version = await self.store.update(before.id, before.version, changes, events)
        return None if version is None else after.model_copy(update={"version": version})

    async def held_session(self, session_id: str) -> HeldSession | None:
        document = await self.sessions.find_one(
            {"_id": session_id},
            {
                "group_id": 1,
                "program_id": 1,
                "status": 1,
                "starts_at": 1,
                "ends_at": 1,
                "time_zone": 1,
                "record.attendee_ids": 1,
            },
        )
        if document is None:
            return None
        return HeldSession(
            session_id=document["_id"],
            group_id=document["group_id"],
            program_id=document["program_id"],
            held=document.get("status") == "held",
            starts_at=document["starts_at"],
            ends_at=document["ends_at"],
            attendee_ids=(document.get("record") or {}).get("attendee_ids", []),
            time_zone=document["time_zone"],
        )

    async def of_session(self, session_id: str) -> list[ActionStep]:
        found = self.collection.find(
            {"session_id": session_id}, NO_OUTBOX, sort=[("created_at", 1)], limit=200
        )
        return [ActionStep.model_validate(d) async for d in found]

    async def count_of_session(self, session_id: str) -> int:
        # A find of the ids, not count_documents: that is an aggregation, which no index of
        # the local server serves; a session holds a few dozen steps at most.
        found = self.collection.find({"session_id": session_id}, {"_id": 1})
        return len(await found.to_list())

    async def commitments(self, session_id: str) -> dict[str, list[str]]:
        found = self.collection.find(
            {"session_id": session_id}, {"owner_id": 1}, sort=[("created_at", 1)]
        )
        result: dict[str, list[str]] = {}
        async for document in found:
            result.setdefault(document["owner_id"], []).append(document["_id"])
        return result

    async def listing(
        self,
        *,
        field: str,
        employee_id: str,
        status: ActionStatus | None,
        overdue_at: datetime | None,
        page: PageRequest,
    ) -> tuple[list[ActionStep], str | None]:
        """A page of the steps this person owns (``field`` owner_id) or holds to account
        (accountability_partner_id), by due time: the index on (field, due_at, _id)."""
        query: dict[str, Any] = {field: employee_id}
        if overdue_at is not None:
            query |= {"status": ActionStatus.OPEN.value, "due_at": {"$lt": overdue_at}}
        elif status is not None:
            query["status"] = status.value
        documents, cursor = await keyset_page(self.collection, query, "due_at", page, NO_OUTBOX)
        return [ActionStep.model_validate(d) for d in documents], cursor

    async def touching(self, employee_id: str) -> list[ActionStep]:
        found = self.collection.find(
            {
                "$or": [
                    {"owner_id": employee_id},
                    {"comments.author_id": employee_id},
                ]
            },
            NO_OUTBOX,
        )
        return [ActionStep.model_validate(d) async for d in found]

    async def open_of_owner_in_group(self, owner_id: str, group_id: str) -> list[ActionStep]:
        found = self.collection.find(
            {"owner_id": owner_id, "group_id": group_id, "status": ActionStatus.OPEN.value},
            NO_OUTBOX,
        )
        return [ActionStep.model_validate(d) async for d in found]
