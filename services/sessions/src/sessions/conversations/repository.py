"""MongoDB adapter of the recorded conversation (inside the session document) and private notes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError, PyMongoError

from roundtable_shared.clock import utc_now
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import IDS_PER_READ, Database, Document, Indexes, in_bulks
from sessions.conversations.domain import Conversation
from sessions.scheduling.repository import NOTES_NOTED, SESSIONS, ListedSessionStore

log = structlog.get_logger(__name__)

PRIVATE_NOTES = "private_notes"
NOTE_SHELVES = "private_note_shelves"
# How long a shelf is trusted before it is rebuilt from the notes (see PrivateNoteRepository).
SHELF_TRUSTED_FOR = timedelta(minutes=5)
# How long an id noted on a shelf may go without its note before a rebuild forgets it: far longer
# than a note's insert takes, so only what a crash or a failed insert left behind is dropped.
UNWRITTEN_NOTE_GRACE = timedelta(minutes=1)
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
    "sharing": 1,
    "version": 1,
}


# How many sessions' notes scopes (group, rule) one process remembers.
SCOPES_KEPT = 10_000


class ConversationRepository:
    def __init__(self, db: Database, store: ListedSessionStore) -> None:
        self.collection = db[SESSIONS]
        self.store = store
        # A session's group and whether its notes are noted never change (sessions are never
        # deleted, and no write sets either): each is read once per process.
        self._scopes: dict[str, tuple[str, bool]] = {}

    async def get(self, session_id: str) -> Conversation | None:
        document = await self.collection.find_one({"_id": session_id}, CONVERSATION)
        return Conversation.model_validate(document) if document else None

    async def notes_scope(self, session_id: str) -> tuple[str, bool] | None:
        """The session's group, and whether each of its private notes is noted on its shelf
        before it is written (sessions scheduled since that rule), without reading its record."""
        scope = self._scopes.get(session_id)
        if scope is not None:
            return scope
        document = await self.collection.find_one(
            {"_id": session_id}, {"group_id": 1, NOTES_NOTED: 1}
        )
        if document is None:
            return None  # not remembered: it may be scheduled yet
        if len(self._scopes) >= SCOPES_KEPT:
            self._scopes.clear()  # crude, but bounded; a refill costs one read per session
        scope = self._scopes[session_id] = (
            str(document["group_id"]),
            bool(document.get(NOTES_NOTED)),
        )
        return scope

    async def mentioning(self, employee_id: str) -> list[Conversation]:
        """Every conversation holding something of this person: as an attendee or invitee, as
        the author of a shared note (a member may add one to a session held before they
        joined), in the current record or in one a correction moved to the history."""
        found = self.collection.find(
            {
                "$or": [
                    {"record.attendee_ids": employee_id},
                    {"invited_ids": employee_id},
                    {"record.shared_notes.author_id": employee_id},
                    {"history.record.attendee_ids": employee_id},
                    {"history.record.shared_notes.author_id": employee_id},
                ]
            },
            CONVERSATION,
        )
        return [Conversation.model_validate(d) async for d in found]


class PrivateNoteRepository:
    """Private notes, one document each, and each author's notes of a session on one shelf.

    Listing an author's notes by ``{session_id, author_id}`` makes FerretDB read every note there
    is; the shelf, keyed ``<session id>/<author id>``, is read by ``_id``. It holds the ids of the
    author's notes (``ids``: id -> when noted) and a copy of each note (``notes``).

    A new note's id is noted on its shelf *before* the note is inserted, so a crash in between
    leaves an extra id, never a missing one: the ids are the whole list, and a shelf is rebuilt
    from them with one ``_id`` ``$in`` read (an id with no note is skipped, and forgotten once
    ``UNWRITTEN_NOTE_GRACE`` has passed). The copies are refreshed after every write of a note and
    rebuilt from the ids when older than ``SHELF_TRUSTED_FOR``; an id without a copy is read by
    ``_id`` at once. The ids are trusted when the session was scheduled under this rule (then no
    shelf means no notes) or the shelf was once built by reading every note of the author
    (``complete``); otherwise the notes are found by that full read, which only sessions scheduled
    before the rule need (their notes were written without ids, perhaps without a shelf). A shelf
    is erased with its author's notes.
    """

    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[PRIVATE_NOTES]
        self.shelves = db[NOTE_SHELVES]
        self.store = store
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, note_id: str) -> Document | None:
        return await self.collection.find_one({"_id": note_id}, {"outbox": 0})

    async def of_author(
        self, session_id: str, author_id: str, *, all_noted: bool
    ) -> list[Document]:
        """The author's notes of the session, oldest first; ``all_noted`` when the session was
        scheduled under the rule that notes every note's id on its shelf before writing it."""
        key = shelf_id(session_id, author_id)
        shelf = await self.shelves.find_one({"_id": key})
        now = utc_now()
        if shelf is None and all_noted:
            return []  # every note makes its shelf before it is written: none yet
        if shelf is None or not (all_noted or shelf.get("complete")):
            notes = await self._scan(session_id, author_id, now)
        elif "built_at" not in shelf or shelf["built_at"] < now - SHELF_TRUSTED_FOR:
            notes = await self._rebuild(shelf, session_id, author_id, now)
        else:
            copies: dict[str, Document] = shelf.get("notes", {})
            unread = [note_id for note_id in shelf.get("ids", {}) if note_id not in copies]
            notes = list(copies.values())
            if unread:  # noted, but no copy yet (being written, or its copy was not stored)
                notes += await self._read(unread, session_id, author_id)
        return sorted(notes, key=lambda n: (n["created_at"], n["_id"]))[:200]

    async def _read(self, note_ids: list[str], session_id: str, author_id: str) -> list[Document]:
        """The notes of these ids that exist, by ``_id`` (and the author's own, to be sure)."""
        notes = []
        for part in in_bulks(note_ids, IDS_PER_READ):
            found = self.collection.find({"_id": {"$in": part}})
            notes += [
                _shelved(d)
                async for d in found
                if d["session_id"] == session_id and d["author_id"] == author_id
            ]
        return notes

    async def _scan(self, session_id: str, author_id: str, now: datetime) -> list[Document]:
        """Every note of the author here, by reading them all; the shelf then lists each one.

        Ids noted meanwhile stay: the ids are added to, never replaced."""
        found = self.collection.find({"session_id": session_id, "author_id": author_id})
        notes = [_shelved(d) async for d in found]
        await self.shelves.update_one(
            {"_id": shelf_id(session_id, author_id)},
            {
                "$set": {
                    "author_id": author_id,
                    "notes": {n["_id"]: n for n in notes},
                    "built_at": now,
                    "complete": True,
                    **{f"ids.{n['_id']}": now for n in notes},
                }
            },
            upsert=True,
        )
        return notes

    async def _rebuild(
        self, shelf: Document, session_id: str, author_id: str, now: datetime
    ) -> list[Document]:
        """The shelf's copies again, from its ids (no upsert: an erased shelf stays erased)."""
        noted: dict[str, datetime] = shelf.get("ids", {})
        notes = await self._read(list(noted), session_id, author_id)
        await self.shelves.update_one(
            {"_id": shelf["_id"]},
            {"$set": {"notes": {n["_id"]: n for n in notes}, "built_at": now}},
        )
        written = {n["_id"] for n in notes}
        for note_id, noted_at in noted.items():
            if note_id not in written and noted_at < now - UNWRITTEN_NOTE_GRACE:
                # Left by a crash or a failed insert; unless it was noted again meanwhile.
                await self.shelves.update_one(
                    {"_id": shelf["_id"], f"ids.{note_id}": noted_at},
                    {"$unset": {f"ids.{note_id}": ""}},
                )
        return notes

    async def note(self, session_id: str, author_id: str, note_id: str) -> None:
        """The id of a note about to be inserted, on its shelf (made if missing): first, so a
        crash before the insert leaves an id with no note, never a note the shelf misses."""
        selector = {"_id": shelf_id(session_id, author_id)}
        noted = {"$set": {f"ids.{note_id}": utc_now()}}
        try:
            await self.shelves.update_one(
                selector, {**noted, "$setOnInsert": {"author_id": author_id}}, upsert=True
            )
        except DuplicateKeyError:
            # Two notes at once made the shelf together (a double tap); the other's insert won.
            await self.shelves.update_one(selector, noted)

    async def shelve(self, note: Document) -> None:
        """A copy of a note as it was just inserted (no upsert: the id made the shelf)."""
        try:
            await self.shelves.update_one(
                {"_id": shelf_id(note["session_id"], note["author_id"])},
                {"$set": {f"notes.{note['_id']}": _shelved(note)}},
            )
        except PyMongoError:
            # The note's own write has committed and its id is noted: a read finds it by its id.
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
            # After the note: a crash in between leaves an id with no note (and a copy until
            # the shelf is rebuilt), never a note missing from the ids.
            await self.shelves.update_one(
                {"_id": shelf_id(note["session_id"], note["author_id"])},
                {"$unset": {f"notes.{note['_id']}": "", f"ids.{note['_id']}": ""}},
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
