"""Peer groups in MongoDB, one document each with its outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import IndexModel

from enrollment.groups.domain import GroupStatus, PeerGroup
from roundtable_shared.events.envelope import EventData
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Collection, Document, Indexes

GROUPS = "groups"
INDEXES = Indexes(
    GROUPS,
    [IndexModel([("program_id", 1), ("status", 1)]), IndexModel([("members.employee_id", 1)])],
)


def to_document(group: PeerGroup) -> Document:
    document = group.model_dump(mode="python")
    document["_id"] = document.pop("group_id")
    document["status"] = group.status.value
    return document


def from_document(document: Document) -> PeerGroup:
    fields = {k: v for k, v in document.items() if k not in ("outbox", "version")}
    fields["group_id"] = fields.pop("_id")
    return PeerGroup.model_validate(fields)


class GroupRepository:
    def __init__(self, store: AggregateStore) -> None:
        """``store``: the ``groups`` collection's (``ServiceRuntime.aggregate_store``)."""
        self.store = store
        self.collection: Collection = store.collection

    async def insert(self, group: PeerGroup, events: Sequence[EventData]) -> int:
        return await self.store.insert(to_document(group), events)

    async def load(self, group_id: str) -> tuple[PeerGroup, int] | None:
        document = await self.collection.find_one({"_id": group_id}, {"outbox": 0})
        return (from_document(document), int(document["version"])) if document else None

    async def save(self, group: PeerGroup, version: int, events: Sequence[EventData]) -> int | None:
        document = to_document(group)
        del document["_id"]
        return await self.store.update(group.group_id, version, {"$set": document}, events)

    async def naming(self, employee_id: str) -> list[tuple[PeerGroup, int]]:
        """Groups that list the employee, dissolved ones too (erasure only)."""
        return await self._find({"members.employee_id": employee_id})

    async def active_of_employee(self, employee_id: str) -> list[tuple[PeerGroup, int]]:
        return await self._find(
            {"members.employee_id": employee_id, "status": GroupStatus.ACTIVE.value}
        )

    async def of_program(self, program_id: str) -> list[tuple[PeerGroup, int]]:
        return await self._find({"program_id": program_id})

    async def _find(self, query: dict[str, Any]) -> list[tuple[PeerGroup, int]]:
        cursor = self.collection.find(query, {"outbox": 0}).sort("_id", 1)
        return [(from_document(d), int(d["version"])) async for d in cursor]
