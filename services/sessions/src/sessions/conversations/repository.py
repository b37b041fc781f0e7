"""MongoDB adapter of the recorded conversation (inside the session document) and private notes."""

from __future__ import annotations

from pymongo import IndexModel

from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document, Indexes
from sessions.conversations.domain import Conversation
from sessions.scheduling.repository import SESSIONS

PRIVATE_NOTES = "private_notes"
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
    "version": 1,
}


class ConversationRepository:
    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[SESSIONS]
        self.store = store

    async def get(self, session_id: str) -> Conversation | None:
        document = await self.collection.find_one({"_id": session_id}, CONVERSATION)
        return Conversation.model_validate(document) if document else None

    async def mentioning(self, employee_id: str) -> list[Conversation]:
        found = self.collection.find(
            {"$or": [{"record.attendee_ids": employee_id}, {"invited_ids": employee_id}]},
            CONVERSATION,
        )
        return [Conversation.model_validate(d) async for d in found]


class PrivateNoteRepository:
    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[PRIVATE_NOTES]
        self.store = store

    async def get(self, note_id: str) -> Document | None:
        return await self.collection.find_one({"_id": note_id}, {"outbox": 0})

    async def of_author(self, session_id: str, author_id: str) -> list[Document]:
        found = self.collection.find(
            {"session_id": session_id, "author_id": author_id},
            {"outbox": 0},
            sort=[("created_at", 1), ("_id", 1)],
            limit=200,
        )
        return [d async for d in found]

    async def erase_author(self, author_id: str) -> int:
        return (await self.collection.delete_many({"author_id": author_id})).deleted_count

    async def delete(self, note_id: str, version: int) -> bool:
        result = await self.collection.delete_one({"_id": note_id, "version": version})
        return result.deleted_count == 1
