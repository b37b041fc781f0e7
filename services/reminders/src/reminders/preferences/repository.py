"""Preferences in MongoDB: one document per employee, versioned for If-Match edits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.errors import DuplicateKeyError

from reminders.preferences.domain import Preferences
from roundtable_shared.storage.bulk import find_by_ids
from roundtable_shared.storage.mongo import Collection, Database

PREFERENCES = "preferences"


class PreferencesRepository:
    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[PREFERENCES]

    async def get(self, employee_id: str) -> tuple[Preferences, int]:
        """The person's preferences and their version (0: never edited, the defaults)."""
        doc = await self.collection.find_one({"_id": employee_id})
        if not doc:
            return Preferences(), 0
        return Preferences.model_validate(doc["preferences"]), int(doc["version"])

    async def get_many(self, employee_ids: Iterable[str]) -> dict[str, Preferences]:
        """Each person's preferences (the defaults for one who never edited them), in one read."""
        ids = sorted(set(employee_ids))
        edited = {
            str(doc["_id"]): Preferences.model_validate(doc["preferences"])
            for doc in await find_by_ids(self.collection, ids)
        }
        return {employee_id: edited.get(employee_id) or Preferences() for employee_id in ids}

    async def save(self, employee_id: str, expected_version: int, preferences: Preferences) -> bool:
        """False when someone changed them since ``expected_version`` (a stale write)."""
        body: dict[str, Any] = {"preferences": preferences.model_dump(mode="json")}
        if expected_version == 0:
            try:
                await self.collection.insert_one({"_id": employee_id, **body, "version": 1})
            except DuplicateKeyError:
                return False
            return True
        result = await self.collection.update_one(
            {"_id": employee_id, "version": expected_version},
            {"$set": body, "$inc": {"version": 1}},
        )
        return result.matched_count == 1

    async def erase(self, employee_id: str) -> None:
        await self.collection.delete_one({"_id": employee_id})
