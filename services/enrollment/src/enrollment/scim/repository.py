"""IdP connections and the SCIM lookups of employees, in MongoDB.

A connection's bearer token is ``rtscim.<connection id>.<secret>``: the id finds the document by
``_id`` (no search, no index), and only the SHA-256 of the secret is stored. The secret has 256 bits
of entropy, so a plain hash is enough (no slow KDF): nobody can guess it from its digest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from enrollment.directory.domain import Employee
from enrollment.directory.repository import from_document
from roundtable_shared.storage.mongo import Collection, Database, Document, Indexes

CONNECTIONS = "scim_connections"
USER_NAMES = "scim_user_names"
INDEXES = Indexes(CONNECTIONS, [])
"""Connections are found by ``_id`` only (the token carries it); so are userName claims."""
CLAIM_SETTLES = timedelta(seconds=60)
"""A claim whose employee does not hold the userName is another request's write in flight for
this long; after that it is a crash's leftover (or its employee was deleted or erased)."""

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

    async def add_token(self, connection_id: str, entry: dict[str, Any]) -> None:
        """Add a token unless one with its hash is there, or the connection is revoked."""
        await self.collection.update_one(
            {
                "_id": connection_id,
                "revoked_at": None,
                "tokens.sha256": {"$ne": entry["sha256"]},
            },
            {"$push": {"tokens": entry}},
        )

    async def get(self, connection_id: str) -> Document | None:
        return await self.collection.find_one({"_id": connection_id})

    async def all(self) -> list[Document]:
        return [d async for d in self.collection.find({}).sort("_id", 1).limit(1000)]

    async def update(self, connection_id: str, changes: dict[str, Any]) -> Document | None:
        return await self.collection.find_one_and_update(
            {"_id": connection_id}, changes, return_document=ReturnDocument.AFTER
        )

    async def add_counts(
        self, connection_id: str, requests: int, errors: int, stamps: dict[str, datetime]
    ) -> None:
        """Add requests and errors to a connection's counts; set its latest times."""
        changes: dict[str, Any] = {"$inc": {"requests": requests, "errors": errors}}
        if stamps:
            changes["$max"] = stamps  # a replica's older flush never turns the times back
        await self.collection.update_one({"_id": connection_id}, changes)


class UserNameClaims:
    """userName is unique (case-insensitive) across the directory: one document per userName,
    keyed by it, claimed before the employee write that sets it. The ``_id`` makes it race-free
    on any MongoDB-wire server, where a unique index on the employees' field would have to skip
    the employees without one (a partial index, which FerretDB does not have)."""

    def __init__(self, db: Database, employees: Collection) -> None:
        self.collection: Collection = db[USER_NAMES]
        self.employees = employees

    async def claim(self, user_name: str, employee_id: str, at: datetime) -> bool:
        """True when ``employee_id`` holds the claim now (it was free, stale, or its own)."""
        key = user_name.lower()
        try:
            await self.collection.insert_one({"_id": key, "employee_id": employee_id, "at": at})
            return True
        except DuplicateKeyError:
            pass
        claim = await self.collection.find_one({"_id": key})
        if claim is None:
            return await self.claim(user_name, employee_id, at)
        holder = str(claim["employee_id"])
        if holder == employee_id:
            return True
        if await self._holds(holder, key) or _recent(claim.get("at"), at):
            return False
        taken = await self.collection.update_one(
            {"_id": key, "employee_id": holder},
            {"$set": {"employee_id": employee_id, "at": at}},
        )
        return taken.modified_count == 1

    async def release(self, user_name: str, employee_id: str) -> None:
        await self.collection.delete_one({"_id": user_name.lower(), "employee_id": employee_id})

    async def _holds(self, employee_id: str, key: str) -> bool:
        found = await self.employees.find_one({"_id": employee_id}, {"user_name_key": 1})
        return found is not None and found.get("user_name_key") == key


def _recent(claimed_at: Any, now: datetime) -> bool:
    if not isinstance(claimed_at, datetime):
        return False
    if claimed_at.tzinfo is None:
        claimed_at = claimed_at.replace(tzinfo=now.tzinfo)
    return bool(now - claimed_at < CLAIM_SETTLES)


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

    async def unlinked_by_email(self, email: str) -> list[str]:
        """Employees HR knows by this email that no IdP has linked yet (at most two: more than
        one is ambiguous)."""
        cursor = self.collection.find(
            {"email_key": email.lower(), "user_name_key": None, "erased": {"$ne": True}},
            {"_id": 1},
        ).limit(2)
        return [str(d["_id"]) async for d in cursor]
