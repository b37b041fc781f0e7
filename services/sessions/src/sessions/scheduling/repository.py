"""MongoDB adapter of sessions' schedules and of the employees' private calendar feeds."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import IndexModel

from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.pagination import PageRequest
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Indexes
from sessions.common import keyset_page, update_between
from sessions.scheduling.domain import WORDS, Session, SessionStatus

SESSIONS = "sessions"
CALENDAR_FEEDS = "calendar_feeds"
INDEXES = [
    Indexes(
        SESSIONS,
        [
            IndexModel([("group_id", 1), ("starts_at", 1), ("_id", 1)]),
            IndexModel([("status", 1), ("starts_at", 1)]),
        ],
    ),
    Indexes(CALENDAR_FEEDS, [IndexModel([("token_hash", 1)], unique=True)]),
]
# The schedule only: the conversation, its history and the outbox are not the schedule's business.
SCHEDULE_ONLY = {"record": 0, "history": 0, "outbox": 0}
# The schedule and who attended (metadata even admins see), in one read.
SCHEDULE_AND_ATTENDANCE = {
    **{name: 1 for name in Session.model_fields if name not in ("id", "version")},
    "version": 1,
    "record.attendee_ids": 1,
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionRepository:
    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[SESSIONS]
        self.store = store

    async def get(self, session_id: str) -> Session | None:
        document = await self.collection.find_one({"_id": session_id}, SCHEDULE_ONLY)
        return Session.model_validate(document) if document else None

    async def add(self, session: Session, events: Sequence[EventData]) -> Session:
        """A new session with its events (``AlreadyExists`` when its id is taken)."""
        version = await self.store.insert(session.document(), events)
        return session.model_copy(update={"version": version})

    async def save(
        self, before: Session, after: Session, events: Sequence[EventData]
    ) -> Session | None:
        """``after`` (what the domain made of ``before``) with its events, if the session is
        still at ``before``'s version; None when someone else changed it first."""
        changes = update_between(before.document(), after.document())
        version = await self.store.update(before.id, before.version, changes, events)
        return None if version is None else after.model_copy(update={"version": version})

    async def with_attendance(self, session_id: str) -> tuple[Session, list[str] | None] | None:
        """The schedule and, once held, who attended."""
        document = await self.collection.find_one({"_id": session_id}, SCHEDULE_AND_ATTENDANCE)
        if document is None:
            return None
        record = document.pop("record", None)
        attendees = list(record["attendee_ids"]) if record else None
        return Session.model_validate(document), attendees

    async def page_of_group(
        self, group_id: str, page: PageRequest
    ) -> tuple[list[Session], str | None]:
        """A page of the group's sessions by start (the index on group_id, starts_at, _id)."""
        documents, cursor = await keyset_page(
            self.collection, {"group_id": group_id}, "starts_at", page, SCHEDULE_ONLY
        )
        return [Session.model_validate(d) for d in documents], cursor

    async def of_groups(self, group_ids: list[str], since: datetime) -> list[Session]:
        found = self.collection.find(
            {"group_id": {"$in": group_ids}, "starts_at": {"$gte": since}},
            SCHEDULE_ONLY,
            sort=[("starts_at", 1)],
            limit=500,
        )
        return [Session.model_validate(d) async for d in found]

    async def with_words_of(self, employee_id: str) -> list[Session]:
        """Sessions holding something this person wrote: a title, place, link or agenda (on
        sessions from before authors were kept, their scheduler's), or a cancellation note.
        A scan, done once per erasure."""
        found = self.collection.find(
            {
                "$or": [
                    *({f"written_by.{name}": employee_id} for name in WORDS),
                    {"written_by": None, "scheduled_by": employee_id},
                    {"cancellation.by": employee_id},
                ]
            },
            SCHEDULE_ONLY,
        )
        return [Session.model_validate(d) async for d in found]

    async def upcoming_of_group(self, group_id: str, now: datetime) -> list[Session]:
        found = self.collection.find(
            {
                "group_id": group_id,
                "status": SessionStatus.SCHEDULED.value,
                "starts_at": {"$gt": now},
            },
            SCHEDULE_ONLY,
        )
        return [Session.model_validate(d) async for d in found]


class CalendarFeedRepository:
    def __init__(self, db: Database) -> None:
        self.collection = db[CALENDAR_FEEDS]

    async def replace(self, employee_id: str, token: str, now: datetime) -> None:
        await self.collection.replace_one(
            {"_id": employee_id},
            {"token_hash": token_hash(token), "created_at": now},
            upsert=True,
        )

    async def revoke(self, employee_id: str) -> bool:
        result = await self.collection.delete_one({"_id": employee_id})
        return result.deleted_count == 1

    async def owner_of(self, token: str) -> str | None:
        document: dict[str, Any] | None = await self.collection.find_one(
            {"token_hash": token_hash(token)}, {"_id": 1}
        )
        return str(document["_id"]) if document else None

    async def exists(self, employee_id: str) -> bool:
        return await self.collection.find_one({"_id": employee_id}, {"_id": 1}) is not None
