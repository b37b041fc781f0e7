"""MongoDB adapter of action steps (one document each, with its outbox)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from pymongo import IndexModel
from pymongo.errors import PyMongoError

from roundtable_shared.clock import utc_now
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.pagination import PageRequest
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document, Indexes
from sessions.action_steps.domain import ActionStatus, ActionStep, HeldSession
from sessions.common import page_in_memory
from sessions.scheduling.repository import SESSIONS

log = structlog.get_logger(__name__)

ACTION_STEPS = "action_steps"
MEMBER_ACTION_STEPS = "member_action_steps"
# How long a member's listing is trusted before it is rebuilt from the action steps: the bound on
# what a crash between a step's write and its listing's write leaves behind.
LISTING_TRUSTED_FOR = timedelta(minutes=5)
ROLES = ("owner_id", "accountability_partner_id")
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
    def __init__(self, db: Database, store: ListedActionStepStore, listing: MemberListing) -> None:
        self.collection = db[ACTION_STEPS]
        self.sessions = db[SESSIONS]
        self.store = store
        self.member_listing = listing

    async def get(self, action_id: str) -> ActionStep | None:
        document = await self.collection.find_one({"_id": action_id}, NO_OUTBOX)
        return ActionStep.model_validate(document) if document else None

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
        return await self.collection.count_documents({"session_id": session_id})

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
        steps = [
            s for s in await self.member_listing.of(employee_id) if s.get(field) == employee_id
        ]
        if overdue_at is not None:
            steps = [
                s
                for s in steps
                if s["status"] == ActionStatus.OPEN.value and s["due_at"] < overdue_at
            ]
        elif status is not None:
            steps = [s for s in steps if s["status"] == status.value]
        documents, cursor = page_in_memory(steps, "due_at", page)
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


class MemberListing:
    """Each member's action steps (owned or held to account) in one document keyed by their id.

    FerretDB answers a filter on ``owner_id`` or ``accountability_partner_id`` by reading every
    action step there is. This copy is kept by ``ListedActionStepStore`` after every write of a
    step and rebuilt from the steps when missing or older than ``LISTING_TRUSTED_FOR``.
    """

    def __init__(self, db: Database) -> None:
        self.collection = db[MEMBER_ACTION_STEPS]
        self.steps = db[ACTION_STEPS]
        self._locks: dict[str, asyncio.Lock] = {}

    async def of(self, employee_id: str) -> list[Document]:
        listing = await self.collection.find_one({"_id": employee_id})
        if listing is None or listing["built_at"] < utc_now() - LISTING_TRUSTED_FOR:
            return await self.rebuild(employee_id)
        return list(listing["steps"].values())

    async def rebuild(self, employee_id: str) -> list[Document]:
        found = self.steps.find(
            {"$or": [{role: employee_id} for role in ROLES]}, NO_OUTBOX
        ).to_list()
        steps = await found
        await self.collection.replace_one(
            {"_id": employee_id},
            {"steps": {s["_id"]: s for s in steps}, "built_at": utc_now()},
            upsert=True,
        )
        return steps

    async def refresh(self, action_id: str, were_listed_with: set[str]) -> None:
        """The step's entry, as stored now, with its owner and partner, and gone from the
        listings of whoever no longer is either (a replaced partner). Repeatable."""
        async with self._lock(action_id):
            step = await self.steps.find_one({"_id": action_id}, NO_OUTBOX)
            if step is None:
                return
            members = {step[role] for role in ROLES}
            for employee_id in sorted(members):
                # No upsert: a missing listing is rebuilt, whole, by the next read.
                await self.collection.update_one(
                    {"_id": employee_id}, {"$set": {f"steps.{action_id}": step}}
                )
            for employee_id in sorted(were_listed_with - members):
                await self.collection.update_one(
                    {"_id": employee_id}, {"$unset": {f"steps.{action_id}": ""}}
                )

    def _lock(self, action_id: str) -> asyncio.Lock:
        # One refresh of a step at a time here, so an older read is never stored last.
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(action_id, asyncio.Lock())


class ListedActionStepStore:
    """The action steps' aggregate store, keeping the members' ``MemberListing`` current.

    Every writer of action steps goes through it, so no write path can forget the listings. It
    wraps the store the runtime made for the ``action_steps`` collection
    (``ServiceRuntime.aggregate_store``), which does the writes.
    """

    def __init__(self, store: AggregateStore, listing: MemberListing) -> None:
        self.store = store
        self.listing = listing

    async def insert(self, document: Document, events: Sequence[EventData]) -> int:
        version = await self.store.insert(document, events)
        await self._keep(str(document["_id"]), set())
        return version

    async def update(
        self,
        aggregate_id: Any,
        expected_version: int,
        changes: dict[str, Any],
        events: Sequence[EventData],
    ) -> int | None:
        # Who the step was listed with before, to take it off a replaced partner's listing.
        before = await self.store.collection.find_one(
            {"_id": aggregate_id}, dict.fromkeys(ROLES, 1)
        )
        version = await self.store.update(aggregate_id, expected_version, changes, events)
        if version is not None:
            listed = {before[role] for role in ROLES if role in before} if before else set()
            await self._keep(str(aggregate_id), listed)
        return version

    async def _keep(self, action_id: str, were_listed_with: set[str]) -> None:
        # The step's write has committed: failing the request now would tell the caller it did
        # not. The listing catches up when it is rebuilt (LISTING_TRUSTED_FOR at the latest).
        try:
            await self.listing.refresh(action_id, were_listed_with)
        except PyMongoError:
            log.warning("member action step listing not refreshed", action_id=action_id)
