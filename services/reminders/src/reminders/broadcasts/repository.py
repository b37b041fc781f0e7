"""Broadcasts in MongoDB: one document per broadcast, its id from the request's Idempotency-Key.

The document holds the wording (for delivery, read by ``_id``), the audience chosen and the
employee ids it reached when it was created: a retried request plans those same people again
(a no-op for each already planned), not whoever matches the audience later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from reminders.program_messages.domain import Wording
from roundtable_shared.storage.mongo import (
    IDS_PER_READ,
    Collection,
    Database,
    Document,
    Indexes,
    in_bulks,
)

BROADCASTS = "broadcasts"
BROADCAST_INDEXES = Indexes(BROADCASTS, [IndexModel([("program_id", ASCENDING)])])


class BroadcastRepository:
    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[BROADCASTS]

    async def create(self, doc: Document) -> Document:
        """Store a new broadcast; the one stored under the same id when it exists (a retry)."""
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            existing = await self.collection.find_one({"_id": doc["_id"]})
            assert existing is not None  # broadcasts are never deleted
            return existing
        return doc

    async def get(self, broadcast_id: str) -> Document | None:
        return await self.collection.find_one({"_id": broadcast_id})

    async def mark_planned(self, broadcast_id: str) -> None:
        await self.collection.update_one({"_id": broadcast_id}, {"$set": {"planned": True}})

    async def wordings(self, broadcast_ids: Iterable[str]) -> dict[str, Wording]:
        found: dict[str, Wording] = {}
        projection: dict[str, Any] = {"subject": 1, "body": 1}
        for part in in_bulks(sorted(set(broadcast_ids)), IDS_PER_READ):
            async for doc in self.collection.find({"_id": {"$in": part}}, projection):
                found[str(doc["_id"])] = Wording(str(doc["subject"]), str(doc["body"]))
        return found
