"""IdP connections and the SCIM lookups of employees, in MongoDB.

A connection's bearer token is ``rtscim.<connection id>.<secret>``: the id finds the document by
``_id`` (no search, no index), and only the SHA-256 of the secret is stored. The secret has 256 bits
of entropy, so a plain hash is enough (no slow KDF): nobody can guess it from its digest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from enrollment.directory.domain import Employee
from enrollment.directory.repository import from_document
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes

CONNECTIONS = "scim_connections"
INDEXES = Indexes(CONNECTIONS, [])
"""Found by ``_id`` only (the token carries it)."""

_SKIP = {"outbox": 0, "hr_event_ids": 0, "field_stamps": 0}


class ConnectionRepository:
    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[CONNECTIONS]

    async def insert(self, document: Document) -> bool:
        """False when a connection with that id exists already."""
        result = await self.collection.update_one(
            {"_id": document["_id"]}, {"$setOnInsert": document}, upsert=True
        )
        return result.upserted_id is not None

    async def get(self, connection_id: str) -> Document | None:
        return await self.collection.find_one({"_id": connection_id})

    async def all(self) -> list[Document]:
        return [d async for d in self.collection.find({}).sort("_id", 1).limit(1000)]

    async def update(self, connection_id: str, changes: dict[str, Any]) -> Document | None:
        return await self.collection.find_one_and_update(
            {"_id": connection_id}, changes, return_document=ReturnDocument.AFTER
        )

    async def record(self, connection_id: str, at: datetime, *, ok: bool, wrote: bool) -> None:
        """Count a request (and an error); a successful write is the connection's last sync."""
        changes: dict[str, Any] = {"$inc": {"requests": 1, "errors": 0 if ok else 1}}
        stamps = {"last_request_at": at}
        if wrote and ok:
            stamps["last_sync_at"] = at
        if not ok:
            stamps["last_error_at"] = at
        changes["$set"] = stamps
        await self.collection.update_one({"_id": connection_id}, changes)


class ScimUsers:
    """SCIM's reads of the employees collection (written only by the directory's repository)."""

    def __init__(self, employees: Collection) -> None:
        self.collection = employees

    async def find(
        self, query: dict[str, Any], skip: int, limit: int
    ) -> list[tuple[Employee, int]]:
        if limit <= 0:
            return []
        cursor = self.collection.find(query, _SKIP).sort("_id", 1).skip(skip).limit(limit)
        return [(from_document(d), int(d["version"])) async for d in cursor]

    async def count(self, query: dict[str, Any]) -> int:
        return await self.collection.count_documents(query)

    async def holder_of_user_name(self, user_name: str) -> str | None:
        """The employee holding this userName (case-insensitive), if any."""
        found = await self.collection.find_one({"user_name_key": user_name.lower()}, {"_id": 1})
        return str(found["_id"]) if found else None

    async def unlinked_by_email(self, email: str) -> list[str]:
        """Employees HR knows by this email that no IdP has linked yet (at most two: more than
        one is ambiguous)."""
        cursor = self.collection.find(
            {"email_key": email.lower(), "user_name_key": None, "erased": {"$ne": True}},
            {"_id": 1},
        ).limit(2)
        return [str(d["_id"]) async for d in cursor]
