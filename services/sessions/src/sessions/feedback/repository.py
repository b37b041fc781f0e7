"""MongoDB adapter of feedback (one document per attendee and session, with its outbox)."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import IndexModel

from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Indexes
from sessions.feedback.domain import Feedback, RatedSession
from sessions.scheduling.repository import SESSIONS

FEEDBACK = "feedback"
INDEXES = [Indexes(FEEDBACK, [IndexModel([("session_id", 1)]), IndexModel([("employee_id", 1)])])]


class FeedbackRepository:
    def __init__(self, db: Database, store: AggregateStore) -> None:
        self.collection = db[FEEDBACK]
        self.sessions = db[SESSIONS]
        self.store = store

    async def get(self, feedback_id: str) -> Feedback | None:
        document = await self.collection.find_one({"_id": feedback_id}, {"outbox": 0})
        return Feedback.model_validate(document) if document else None

    async def add(self, feedback: Feedback, events: Sequence[EventData]) -> Feedback:
        """A new feedback with its events (``AlreadyExists`` when this attendee rated already)."""
        version = await self.store.insert(feedback.document(), events)
        return feedback.model_copy(update={"version": version})

    async def rated_session(self, session_id: str) -> RatedSession | None:
        document = await self.sessions.find_one(
            {"_id": session_id},
            {"group_id": 1, "program_id": 1, "status": 1, "record.attendee_ids": 1},
        )
        if document is None:
            return None
        return RatedSession(
            session_id=document["_id"],
            group_id=document["group_id"],
            program_id=document["program_id"],
            held=document.get("status") == "held",
            attendee_ids=(document.get("record") or {}).get("attendee_ids", []),
        )

    async def ratings(self, session_id: str) -> list[int]:
        found = self.collection.find({"session_id": session_id}, {"rating": 1})
        return [int(d["rating"]) async for d in found]

    async def erase_comments(self, employee_id: str) -> None:
        await self.collection.update_many(
            {"employee_id": employee_id, "comment": {"$ne": None}},
            {"$set": {"comment": None}, "$inc": {"version": 1}},
        )
