"""Version-guarded copies of other services' data: the sessions, action steps, programs,
groups and pauses that later events need (a cancellation names a session, not its attendees)."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from roundtable_shared.storage.mongo import Collection, Database, Document

COPIES = "source_copies"
"""Version-guarded copies of sessions, actions and programs (what later events need)."""


class SourceCopies:
    def __init__(self, db: Database) -> None:
        self.copies: Collection = db[COPIES]

    async def keep_copy(self, copy_id: str, version: int, fields: dict[str, Any]) -> bool:
        """True when this version is newer than the copy we had (so the event is not stale)."""
        try:
            result = await self.copies.update_one(
                {"_id": copy_id, "version": {"$lt": version}},
                {"$set": {**fields, "version": version}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return result.modified_count == 1 or result.upserted_id is not None

    async def copy(self, copy_id: str) -> Document | None:
        return await self.copies.find_one({"_id": copy_id})

    async def scrub_titles(self, employee_id: str) -> None:
        """Erasure: the titles of this person's action steps are their own words."""
        await self.copies.update_many(
            {"owner_id": employee_id, "title": {"$exists": True}}, {"$unset": {"title": ""}}
        )
