"""MongoDB adapter of the recorded conversation (inside the session document) and private notes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from pymongo import IndexModel
from pymongo.errors import PyMongoError

from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document, Indexes
from sessions.common import utcnow
from sessions.conversations.domain import Conversation
from sessions.scheduling.repository import SESSIONS

log = structlog.get_logger(__name__)

PRIVATE_NOTES = "private_notes"
NOTE_SHELVES = "private_note_shelves"
# How long a shelf is trusted before it is rebuilt from the notes (see PrivateNoteRepository).
SHELF_TRUSTED_FOR = timedelta(minutes=5)
NOT_ON_SHELF = ("outbox", "outbox_pending", "outbox_rev")
INDEXES = [
    Indexes(
        SESSIONS,
        [IndexModel([("record.attendee_ids", 1)]), IndexModel([("invited_ids", 1)])],
    ),
    Indexes(NOTE_SHELVES, [IndexModel([("author_id", 1)])]),
    Indexes(
        PRIVATE_NOTES,
        [
            IndexModel([("session_id", 1), ("author_id", 1), ("created_at", 1)]),
            IndexModel([("author_id", 1)]),
        ],
    ),
]
CONVERSATION = {
    "group_id": 1,
    "program_id": 1,
    "status": 1,
    "starts_at": 1,
    "ends_at": 1,
    "invited_ids": 1,
    "record": 1,
    "history": 1,
    "version": 1,
}


class ConversationRepository:
    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[SESSIONS]
        self.store = store

    async def get(self, session_id: str) -> Conversation | None:
        document = await self.collection.find_one({"_id": session_id}, CONVERSATION)
        return Conversation.model_validate(document) if document else None

    async def group_of(self, session_id: str) -> str | None:
        """The session's group, without carrying its record over the wire."""
        document = await self.collection.find_one({"_id": session_id}, {"group_id": 1})
        return str(document["group_id"]) if document else None

    async def mentioning(self, employee_id: str) -> list[Conversation]:
        found = self.collection.find(
            {"$or": [{"record.attendee_ids": employee_id}, {"invited_ids": employee_id}]},
            CONVERSATION,
        )
        return [Conversation.model_validate(d) async for d in found]


class PrivateNoteRepository:
    """Private notes, one document each, and each author's notes of a session on one shelf.

    Listing an author's notes by ``{session_id, author_id}`` makes FerretDB read every note there
    is; the shelf, keyed ``<session id>/<author id>``, is read by ``_id``. It is a copy kept after
    every write of a note here, rebuilt from the notes when missing or older than
    ``SHELF_TRUSTED_FOR`` (the bound on what a crash between the two writes leaves behind), and
    erased with its author's notes.
    """

    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[PRIVATE_NOTES]
        self.shelves = db[NOTE_SHELVES]
        self.store = store
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, note_id: str) -> Document | None:
        return await self.collection.find_one({"_id": note_id}, {"outbox": 0})

    async def of_author(self, session_id: str, author_id: str) -> list[Document]:
        shelf = await self.shelves.find_one({"_id": shelf_id(session_id, author_id)})
        if shelf is None or shelf["built_at"] < utcnow() - SHELF_TRUSTED_FOR:
            notes = await self._rebuild(session_id, author_id)
        else:
            notes = list(shelf["notes"].values())
        return sorted(notes, key=lambda n: (n["created_at"], n["_id"]))[:200]

    async def _rebuild(self, session_id: str, author_id: str) -> list[Document]:
        found = self.collection.find({"session_id": session_id, "author_id": author_id})
        notes = [_shelved(d) async for d in found]
        await self.shelves.replace_one(
            {"_id": shelf_id(session_id, author_id)},
            {
                "author_id": author_id,
                "notes": {n["_id"]: n for n in notes},
                "built_at": utcnow(),
            },
            upsert=True,
        )
        return notes

    async def shelve(self, note: Document) -> None:
        """A note as it was just inserted (no upsert: a missing shelf is rebuilt by a read)."""
        try:
            await self.shelves.update_one(
                {"_id": shelf_id(note["session_id"], note["author_id"])},
                {"$set": {f"notes.{note['_id']}": _shelved(note)}},
            )
        except PyMongoError:
            # The note's own write has committed; the shelf catches up when it is rebuilt.
            log.warning("private note shelf not refreshed", note_id=note["_id"])

    async def reshelve(self, note_id: str) -> Document | None:
        """The note as stored now, and its shelf brought level with it (repeatable)."""
        async with self._lock(note_id):
            note = await self.get(note_id)
            if note is not None:
                await self.shelve(note)
            return note

    async def erase_author(self, author_id: str) -> int:
        await self.shelves.delete_many({"author_id": author_id})
        return (await self.collection.delete_many({"author_id": author_id})).deleted_count

    async def delete(self, note: Document, version: int) -> bool:
        result = await self.collection.delete_one({"_id": note["_id"], "version": version})
        if result.deleted_count == 1:
            await self.shelves.update_one(
                {"_id": shelf_id(note["session_id"], note["author_id"])},
                {"$unset": {f"notes.{note['_id']}": ""}},
            )
        return result.deleted_count == 1

    def _lock(self, note_id: str) -> asyncio.Lock:
        # One read-and-shelve of a note at a time here, so an older read is never stored last.
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(note_id, asyncio.Lock())


def shelf_id(session_id: str, author_id: str) -> str:
    # Session ids are UUIDs, so the first "/" separates the two whatever an employee id holds.
    return f"{session_id}/{author_id}"


def _shelved(note: Document) -> Document:
    return {k: v for k, v in note.items() if k not in NOT_ON_SHELF}
