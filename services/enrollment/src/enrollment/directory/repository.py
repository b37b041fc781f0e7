"""Employees in MongoDB: one document per employee, its outbox inside it.

The ids of the HR events already applied live in the employee's document (``hr_event_ids``) and
are written by the same single-document update as the change, so "stored" and "remembered as
processed" can never be split by a crash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from pymongo import IndexModel, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from enrollment.directory.domain import Employee
from roundtable_shared.events.catalogue.enrollment import EmploymentStatus, WithdrawReason
from roundtable_shared.events.envelope import EventData
from roundtable_shared.messaging.outbox import new_document_outbox, with_outbox
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.bulk import bulk_write
from roundtable_shared.storage.mongo import Collection, Document, Indexes, by_ids

EMPLOYEES = "employees"
INDEXES = Indexes(
    EMPLOYEES,
    [
        IndexModel([("employment_status", 1)]),
        # No index on profile.manager_id: no query selects by it (matching reads managers by
        # _id), and each index is kept up by every write of an employee.
        # SCIM looks people up by these (its filters and its uniqueness of userName).
        IndexModel([("user_name_key", 1)]),
        IndexModel([("email_key", 1)]),
        IndexModel([("profile.external_id", 1)]),
    ],
)


def to_document(employee: Employee) -> Document:
    return {
        "_id": employee.employee_id,
        "profile": dict(employee.profile),
        "employment_status": employee.employment_status.value
        if employee.employment_status
        else None,
        "field_stamps": dict(employee.field_stamps),
        "erased": employee.erased,
        "offboarded_at": employee.offboarded_at,
        "updated_at": employee.updated_at,
        "cascade_due": employee.cascade_due.value if employee.cascade_due else None,
        # Case-insensitive copies (SCIM compares userName and emails ignoring case); derived,
        # so every write keeps them right and erasure empties them with the profile.
        "user_name_key": _key(employee.profile.get("user_name")),
        "email_key": _key(employee.profile.get("email")),
    }


def _key(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


def from_document(document: Document) -> Employee:
    status = document.get("employment_status")
    due = document.get("cascade_due")
    return Employee(
        employee_id=document["_id"],
        profile=dict(document.get("profile") or {}),
        employment_status=EmploymentStatus(status) if status else None,
        field_stamps=dict(document.get("field_stamps") or {}),
        erased=bool(document.get("erased")),
        offboarded_at=document.get("offboarded_at"),
        updated_at=document.get("updated_at"),
        cascade_due=WithdrawReason(due) if due else None,
    )


class EmployeeRepository:
    def __init__(self, store: AggregateStore) -> None:
        """``store``: the ``employees`` collection's (``ServiceRuntime.aggregate_store``)."""
        self.store = store
        self.collection: Collection = store.collection

    async def load(self, employee_id: str) -> tuple[Employee, int, list[str]] | None:
        document = await self.collection.find_one({"_id": employee_id}, {"outbox": 0})
        if document is None:
            return None
        return from_document(document), int(document["version"]), document.get("hr_event_ids", [])

    async def get(self, employee_id: str) -> Employee | None:
        loaded = await self.load(employee_id)
        return loaded[0] if loaded else None

    async def many(self, employee_ids: Iterable[str]) -> dict[str, tuple[Employee, int]]:
        documents = await by_ids(self.collection, employee_ids, {"outbox": 0, "hr_event_ids": 0})
        return {d["_id"]: (from_document(d), int(d["version"])) for d in documents}

    async def insert(
        self, employee: Employee, events: Sequence[EventData], hr_event_id: str | None
    ) -> int:
        document = to_document(employee)
        document["hr_event_ids"] = [hr_event_id] if hr_event_id else []
        return await self.store.insert(document, events)

    async def update(
        self,
        employee: Employee,
        version: int,
        events: Sequence[EventData],
        hr_event_id: str | None,
    ) -> int | None:
        changes: dict[str, Any] = {"$set": {**_settable(employee), "import_hash": None}}
        if hr_event_id:
            changes["$addToSet"] = {"hr_event_ids": hr_event_id}
        return await self.store.update(employee.employee_id, version, changes, events)

    # --- bulk (HR webhook batches) -----------------------------------------------------------

    async def load_many(
        self, employee_ids: Iterable[str]
    ) -> dict[str, tuple[Employee, int, list[str]]]:
        """``load`` for many employees in one query by ``_id``."""
        wanted = list(employee_ids)
        if not wanted:
            return {}
        cursor = self.collection.find({"_id": {"$in": wanted}}, {"outbox": 0})
        return {
            str(d["_id"]): (from_document(d), int(d["version"]), d.get("hr_event_ids", []))
            async for d in cursor
        }

    def hr_insert_op(
        self, employee: Employee, events: Sequence[EventData], hr_event_ids: Sequence[str]
    ) -> InsertOne[Document]:
        """``insert`` as one operation of a bulk write: the employee, its events, the HR ids."""
        outbox = self.store.envelopes(employee.employee_id, 0, events)
        document = {
            **to_document(employee),
            "hr_event_ids": list(hr_event_ids),
            "version": max(1, len(events)),
            **new_document_outbox(outbox),
        }
        return InsertOne(document)

    def hr_update_op(
        self,
        employee: Employee,
        version: int,
        events: Sequence[EventData],
        hr_event_ids: Sequence[str],
    ) -> UpdateOne:
        """``update`` as one operation of a bulk write, remembering several HR ids at once."""
        outbox = self.store.envelopes(employee.employee_id, version, events)
        update = with_outbox(
            {
                "$set": {**_settable(employee), "import_hash": None},
                "$inc": {"version": max(1, len(events))},
                "$addToSet": {"hr_event_ids": {"$each": list(hr_event_ids)}},
            },
            outbox,
        )
        return UpdateOne({"_id": employee.employee_id, "version": version}, update)

    async def hr_event_ids(self, employee_ids: Iterable[str]) -> dict[str, set[str]]:
        """The HR ids each employee's document remembers (which bulk updates were applied)."""
        cursor = self.collection.find({"_id": {"$in": list(employee_ids)}}, {"hr_event_ids": 1})
        return {str(d["_id"]): set(d.get("hr_event_ids", [])) async for d in cursor}

    # --- bulk (directory import) -------------------------------------------------------------

    def insert_op(
        self, employee: Employee, events: Sequence[EventData], import_hash: str
    ) -> InsertOne[Document]:
        outbox = self.store.envelopes(employee.employee_id, 0, events)
        document = {
            **to_document(employee),
            "import_hash": import_hash,
            "hr_event_ids": [],
            "version": max(1, len(events)),
            **new_document_outbox(outbox),
        }
        return InsertOne(document)

    def update_op(
        self,
        employee: Employee,
        version: int,
        events: Sequence[EventData],
        import_hash: str | None = None,
    ) -> UpdateOne:
        outbox = self.store.envelopes(employee.employee_id, version, events)
        update = with_outbox(
            {
                "$set": {**_settable(employee), "import_hash": import_hash},
                "$inc": {"version": max(1, len(events))},
            },
            outbox,
        )
        return UpdateOne({"_id": employee.employee_id, "version": version}, update)

    async def bulk(
        self, operations: list[Any], employee_ids: Sequence[str]
    ) -> tuple[int, set[int]]:
        """Unordered bulk write of the operations on these employees (same order); (updates that
        matched, indexes of operations that failed)."""
        if not operations:
            return 0, set()
        try:
            result = await bulk_write(self.collection, operations, ordered=False)
            matched, failed = result.matched_count, set()
        except BulkWriteError as exc:
            details = exc.details
            failed = {int(error["index"]) for error in details.get("writeErrors", [])}
            matched = int(details.get("nMatched", 0))
        # The relay reads these by _id instead of searching 50,000 employees for them.
        self.store.announce(*(eid for index, eid in enumerate(employee_ids) if index not in failed))
        return matched, failed

    async def import_hashes(self) -> dict[str, str | None]:
        """Every employee id with the hash of the import row that last wrote it (one scan)."""
        cursor = self.collection.find({}, {"import_hash": 1})
        return {str(d["_id"]): d.get("import_hash") async for d in cursor}

    async def set_import_hash(self, employee_id: str, version: int, import_hash: str) -> None:
        await self.collection.update_one(
            {"_id": employee_id, "version": version}, {"$set": {"import_hash": import_hash}}
        )

    async def versions(self, employee_ids: Iterable[str]) -> dict[str, int]:
        documents = await by_ids(self.collection, employee_ids, {"version": 1})
        return {str(d["_id"]): int(d["version"]) for d in documents}

    async def active_ids(self) -> AsyncIterator[str]:
        cursor = self.collection.find(
            {"employment_status": {"$in": ["active", "on_leave"]}, "erased": {"$ne": True}},
            {"_id": 1},
        )
        async for document in cursor:
            yield str(document["_id"])

    async def cascades_due(self) -> list[tuple[str, WithdrawReason]]:
        """Employees whose withdrawals a crash may have left undone (one scan, at start)."""
        cursor = self.collection.find({"cascade_due": {"$ne": None}}, {"cascade_due": 1})
        return [(str(d["_id"]), WithdrawReason(d["cascade_due"])) async for d in cursor]

    async def cascade_done(self, employee_id: str, reason: WithdrawReason) -> None:
        """Not versioned (the marker is no part of the employee's history); only if it is
        still this cascade's."""
        await self.collection.update_one(
            {"_id": employee_id, "cascade_due": reason.value}, {"$set": {"cascade_due": None}}
        )

    async def cascades_done(self, employee_ids: Sequence[str], reason: WithdrawReason) -> None:
        """``cascade_done`` for several employees in one update (a cascade's batch)."""
        if not employee_ids:
            return
        await self.collection.update_many(
            {"_id": {"$in": list(employee_ids)}, "cascade_due": reason.value},
            {"$set": {"cascade_due": None}},
        )

    async def page(self, after: str | None, limit: int) -> list[tuple[Employee, int]]:
        query: dict[str, Any] = {"_id": {"$gt": after}} if after else {}
        cursor = (
            self.collection.find(query, {"outbox": 0, "hr_event_ids": 0})
            .sort("_id", 1)
            .limit(limit)
        )
        return [(from_document(d), int(d["version"])) async for d in cursor]


def _settable(employee: Employee) -> dict[str, Any]:
    document = to_document(employee)
    del document["_id"]
    return document
