"""MongoDB adapter of the recorded conversation (inside the session document) and private notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import IndexModel

from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document, Indexes
from sessions.common import update_between
from sessions.conversations.domain import Conversation
from sessions.scheduling.repository import SESSIONS

PRIVATE_NOTES = "private_notes"
NOTES_LISTED = 200
"""The most private notes of one author and session that a listing shows."""
INDEXES = [
    Indexes(
        SESSIONS,
        [IndexModel([("record.attendee_ids", 1)]), IndexModel([("invited_ids", 1)])],
    ),
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


class ConversationRepository:
    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[SESSIONS]
        self.store = store

    async def get(self, session_id: str) -> Conversation | None:
        document = await self.collection.find_one({"_id": session_id}, CONVERSATION)
        return Conversation.model_validate(document) if document else None

    async def save(
        self, before: Conversation, after: Conversation, events: Sequence[EventData]
    ) -> int | None:
        """``after`` (what the domain made of ``before``) with its events, if the session is
        still at ``before``'s version: its new version, or None when someone changed it first."""
        changes = update_between(before.document(), after.document())
        return await self.store.update(before.id, before.version, changes, events)

    async def group_of(self, session_id: str) -> str | None:
        """The session's group, without reading its record."""
        document = await self.collection.find_one({"_id": session_id}, {"group_id": 1})
        return str(document["group_id"]) if document else None

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
    """Private notes, one document each, found by their author and session."""

    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[PRIVATE_NOTES]
        self.store = store

    async def get(self, note_id: str) -> Document | None:
        return await self.collection.find_one({"_id": note_id}, {"outbox": 0})

    async def add(self, note: Document) -> int:
        """A new note; its version (``AlreadyExists`` when its id is taken)."""
        return await self.store.insert(note, [])

    async def edit(self, note_id: str, version: int, text: str, at: datetime) -> int | None:
        """The note's new text, if it is still at ``version``: its new version, or None."""
        changes = {"$set": {"text": text, "updated_at": at}}
        return await self.store.update(note_id, version, changes, [])

    async def of_author(self, session_id: str, author_id: str) -> list[Document]:
        """The author's notes of the session, oldest first (the index on session_id, author_id,
        created_at)."""
        found = self.collection.find(
            {"session_id": session_id, "author_id": author_id},
            {"outbox": 0},
            sort=[("created_at", 1), ("_id", 1)],
            limit=NOTES_LISTED,
        )
        return await found.to_list()

    async def erase_author(self, author_id: str) -> int:
        return (await self.collection.delete_many({"author_id": author_id})).deleted_count

    async def delete(self, note: Document, version: int) -> bool:
        result = await self.collection.delete_one({"_id": note["_id"], "version": version})
        return result.deleted_count == 1
