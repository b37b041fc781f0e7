"""MongoDB adapter of sessions' schedules and of the employees' private calendar feeds."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Sequence
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
from sessions.common import page_in_memory
from sessions.scheduling.domain import WORDS, Session, SessionStatus

log = structlog.get_logger(__name__)

SESSIONS = "sessions"
GROUP_SCHEDULES = "group_schedules"
CALENDAR_FEEDS = "calendar_feeds"
# Set on every session scheduled since private notes are noted on their shelf before they are
# written (see conversations' PrivateNoteRepository): a shelf of such a session lists every note.
NOTES_NOTED = "private_notes_noted"
# How long a group's schedule listing is trusted before it is rebuilt from the sessions: the
# bound on how stale a crash between a session's write and its listing's write can leave it.
LISTING_TRUSTED_FOR = timedelta(minutes=5)
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
SCHEDULE_ONLY = {"record": 0, "history": 0, "outbox": 0, NOTES_NOTED: 0}
# The schedule and who attended (metadata even admins see), in one read.
SCHEDULE_AND_ATTENDANCE = {
    **{name: 1 for name in Session.model_fields if name not in ("id", "version")},
    "version": 1,
    "record.attendee_ids": 1,
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionRepository:
    def __init__(self, db: Database, store: ListedSessionStore) -> None:
        self.collection = db[SESSIONS]
        self.store = store

    async def get(self, session_id: str) -> Session | None:
        document = await self.collection.find_one({"_id": session_id}, SCHEDULE_ONLY)
        return Session.model_validate(document) if document else None

    async def with_attendance(self, session_id: str) -> tuple[Session, list[str] | None] | None:
        """The schedule and, once held, who attended."""
        document = await self.collection.find_one({"_id": session_id}, SCHEDULE_AND_ATTENDANCE)
        if document is None:
            return None
        record = document.pop("record", None)
        attendees = list(record["attendee_ids"]) if record else None
        return Session.model_validate(document), attendees

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


class ScheduleListing:
    """Each group's sessions in one document keyed by the group id, for the group's listing.

    FerretDB answers a filter on ``group_id`` by reading every session there is; a read by
    ``_id`` is the one it answers from its index. The listing is a copy of the sessions' schedules
    that ``ListedSessionStore`` refreshes after every write of a session; it is rebuilt from the
    sessions when missing or older than ``LISTING_TRUSTED_FOR``.
    """

    def __init__(self, db: Database) -> None:
        self.collection = db[GROUP_SCHEDULES]
        self.sessions = db[SESSIONS]
        self._locks: dict[str, asyncio.Lock] = {}

    async def page(self, group_id: str, page: PageRequest) -> tuple[list[Session], str | None]:
        listing = await self.collection.find_one({"_id": group_id})
        if listing is None or listing["built_at"] < utc_now() - LISTING_TRUSTED_FOR:
            entries = await self.rebuild(group_id)
        else:
            entries = list(listing["sessions"].values())
        documents, cursor = page_in_memory(entries, "starts_at", page)
        return [Session.model_validate(d) for d in documents], cursor

    async def rebuild(self, group_id: str) -> list[Document]:
        entries = await self.sessions.find({"group_id": group_id}, SCHEDULE_ONLY).to_list()
        await self.collection.replace_one(
            {"_id": group_id},
            {"sessions": {d["_id"]: d for d in entries}, "built_at": utc_now()},
            upsert=True,
        )
        return entries

    async def refresh(self, session_id: str) -> None:
        """The listing entry of one session, as it is stored now (repeatable)."""
        async with self._lock(session_id):
            document = await self.sessions.find_one({"_id": session_id}, SCHEDULE_ONLY)
            if document is None:
                return
            await self.store_entry(document)

    async def store_entry(self, document: Document) -> None:
        """A session's entry, unless the listing already holds a later version of it.

        No upsert: a missing listing is rebuilt, whole, by the next read."""
        entry = {k: v for k, v in document.items() if k not in SCHEDULE_ONLY}
        listed = f"sessions.{entry['_id']}"
        await self.collection.update_one(
            {"_id": entry["group_id"], f"{listed}.version": {"$not": {"$gte": entry["version"]}}},
            {"$set": {listed: entry}},
        )

    def _lock(self, session_id: str) -> asyncio.Lock:
        # One refresh of a session at a time in this process: two interleaved refreshes could
        # otherwise store the older read last.
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(session_id, asyncio.Lock())


class ListedSessionStore:
    """The sessions' aggregate store, keeping each group's ``ScheduleListing`` current.

    Every writer of sessions (scheduling, the recorded conversation, erasure) goes through it,
    so no write path can forget the listing. It wraps the store the runtime made for the
    ``sessions`` collection (``ServiceRuntime.aggregate_store``), which does the writes.
    """

    def __init__(self, store: AggregateStore, listing: ScheduleListing) -> None:
        self.store = store
        self.listing = listing

    async def insert(self, document: Document, events: Sequence[EventData]) -> int:
        version = await self.store.insert(document, events)
        # A new session: what was inserted is what is stored, no need to read it back.
        await _keep(self.listing.store_entry({**document, "version": version}), document["_id"])
        return version

    async def update(
        self,
        aggregate_id: Any,
        expected_version: int,
        changes: dict[str, Any],
        events: Sequence[EventData],
        *,
        result: Document | None = None,
    ) -> int | None:
        """``result``: the session as the change leaves it (but its version), when the caller
        knows it (a ``$set`` on what it read at ``expected_version``): its listing entry is then
        written from it, without reading the session back."""
        version = await self.store.update(aggregate_id, expected_version, changes, events)
        if version is not None:
            if result is None:
                await _keep(self.listing.refresh(str(aggregate_id)), aggregate_id)
            else:
                entry = {**result, "_id": aggregate_id, "version": version}
                await _keep(self.listing.store_entry(entry), aggregate_id)
        return version


async def _keep(listing_write: Awaitable[None], session_id: object) -> None:
    # The session's write has committed: failing the request now would tell the caller it did
    # not. The listing catches up when it is rebuilt (LISTING_TRUSTED_FOR at the latest).
    try:
        await listing_write
    except PyMongoError:
        log.warning("group schedule listing not refreshed", session_id=str(session_id))


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
