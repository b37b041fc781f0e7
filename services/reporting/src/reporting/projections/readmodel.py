"""The read models' collections, one set per *generation* (a rebuild fills a new one, then swaps).

- ``counters``: per (program, ISO week, family), counters changed with ``apply_once`` (the
  document also lists the effects applied to it, which is what makes them exactly-once);
- ``rollups``: the same counters without that list, copied after each change under a
  ``version`` guard (the counter document's ``rev``): what queries read, small and fast;
- ``programs``, ``persons``, ``groups``, ``actions``: copies of what the counters need to know
  across events (sponsors, who reached which funnel stage, when an action step was committed).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from reporting.projections.domain import Family
from roundtable_shared.messaging.inbox import apply_once
from roundtable_shared.storage.mongo import (
    Collection,
    Database,
    Document,
    Indexes,
    upsert_if_newer,
)

FUNNEL_SHARDS = 16
NAMES = ("counters", "rollups", "programs", "persons", "groups", "actions", "erased")


def counter_id(program_id: str, week: str, family: Family | str) -> str:
    return f"{program_id}|{week}|{family}"


def person_id(program_id: str, employee_id: str) -> str:
    return f"{program_id}|{employee_id}"


class DocumentLocks:
    """Serialises this process's writes to any one document.

    FerretDB (on SQLite) applies an update as read-modify-write without isolating concurrent
    updates of the same document: two ``$inc`` at once can lose one, and both report success.
    The three consumers (and a rebuild) run concurrently and share documents (funnel counters,
    people, groups), so every write to a read-model document happens under its lock. Locks are
    striped: a fixed number, shared by hash, never held two at a time (no deadlock).
    """

    def __init__(self, stripes: int = 512) -> None:
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    @asynccontextmanager
    async def hold(self, collection: str, doc_id: str) -> AsyncIterator[None]:
        lock = self._locks[zlib.crc32(f"{collection}/{doc_id}".encode()) % len(self._locks)]
        async with lock:
            yield


@dataclass(frozen=True)
class ReadModels:
    db: Database
    generation: str
    locks: DocumentLocks = field(default_factory=DocumentLocks, compare=False)

    def lock(self, collection: str, doc_id: str) -> Any:
        """``async with models.lock("persons", id):`` around a write to that document."""
        return self.locks.hold(f"{self.generation}_{collection}", doc_id)

    def collection(self, name: str) -> Collection:
        return self.db[f"{self.generation}_{name}"]

    @property
    def counters(self) -> Collection:
        return self.collection("counters")

    @property
    def rollups(self) -> Collection:
        return self.collection("rollups")

    @property
    def programs(self) -> Collection:
        return self.collection("programs")

    @property
    def persons(self) -> Collection:
        return self.collection("persons")

    @property
    def groups(self) -> Collection:
        return self.collection("groups")

    @property
    def actions(self) -> Collection:
        return self.collection("actions")

    @property
    def erased(self) -> Collection:
        return self.collection("erased")

    def indexes(self) -> list[Indexes]:
        return generation_indexes(self.generation)

    async def update(
        self, name: str, doc_id: str, update: Mapping[str, Any], *, upsert: bool = False
    ) -> None:
        """One locked ``update_one`` of a document by id."""
        async with self.lock(name, doc_id):
            await self.collection(name).update_one({"_id": doc_id}, dict(update), upsert=upsert)

    async def upsert_and_get(self, name: str, doc_id: str, update: Mapping[str, Any]) -> Document:
        """One locked upsert of a document by id; the document after it."""
        async with self.lock(name, doc_id):
            found = await self.collection(name).find_one_and_update(
                {"_id": doc_id}, dict(update), upsert=True, return_document=ReturnDocument.AFTER
            )
        return found or {}

    async def add_funnel(
        self, program_id: str, effect_key: str, increments: Mapping[str, int]
    ) -> bool:
        """Funnel counters: not weekly (a person's stage must count once, whichever event and
        week it comes from), so kept per program in a few shards keyed by the effect."""
        shard = f"people{zlib.crc32(effect_key.encode()) % FUNNEL_SHARDS:02d}"
        return await self.add(program_id, shard, Family.FUNNEL, effect_key, increments)

    async def add(
        self,
        program_id: str,
        week: str,
        family: Family,
        effect_key: str,
        increments: Mapping[str, int],
    ) -> bool:
        """Add ``increments`` to a week's counters once per ``effect_key``; refresh its rollup.

        The rollup is refreshed even for a repeat, which repairs one left stale by a crash
        between the two writes.
        """
        doc_id = counter_id(program_id, week, family)
        async with self.lock("counters", doc_id):
            return await self._add(program_id, week, family, effect_key, increments, doc_id)

    async def _add(
        self,
        program_id: str,
        week: str,
        family: Family,
        effect_key: str,
        increments: Mapping[str, int],
        doc_id: str,
    ) -> bool:
        applied = await apply_once(
            self.counters,
            doc_id,
            effect_key,
            {
                "$inc": {**{f"c.{name}": n for name, n in increments.items()}, "rev": 1},
                "$set": {"program_id": program_id, "week": week, "family": str(family)},
            },
        )
        current = await self.counters.find_one({"_id": doc_id}, {"c": 1, "rev": 1})
        if current is not None:
            await upsert_if_newer(
                self.rollups,
                doc_id,
                int(current["rev"]),
                {"program_id": program_id, "week": week, "family": str(family), "c": current["c"]},
            )
        return applied


async def set_if_newer(
    models: ReadModels,
    name: str,
    doc_id: str,
    version_field: str,
    version: int,
    fields: Mapping[str, Any],
) -> bool:
    """``upsert_if_newer`` for one *part* of a document, guarded by its own version field.

    A document here gathers several sources (a participant's status and, separately, their
    consent; a program's settings and its life cycle), each ordered by its own version, and
    other handlers add fields to it before any versioned event may have arrived.
    """
    try:
        async with models.lock(name, doc_id):
            result = await models.collection(name).update_one(
                {"_id": doc_id, version_field: {"$not": {"$gte": version}}},
                {"$set": {**fields, version_field: version}},
                upsert=True,
            )
    except DuplicateKeyError:
        return False  # the part is as new or newer already
    return result.modified_count == 1 or result.upserted_id is not None


def generation_indexes(g: str) -> list[Indexes]:
    """The indexes of one generation's collections."""
    return [
        Indexes(f"{g}_rollups", [IndexModel([("program_id", ASCENDING), ("week", ASCENDING)])]),
        Indexes(f"{g}_programs", [IndexModel([("sponsor_ids", ASCENDING)])]),
        Indexes(
            f"{g}_persons",
            [IndexModel([("program_id", ASCENDING)]), IndexModel([("employee_id", ASCENDING)])],
        ),
        Indexes(f"{g}_groups", [IndexModel([("program_id", ASCENDING)])]),
        Indexes(
            f"{g}_actions",
            [IndexModel([("program_id", ASCENDING), ("done", ASCENDING), ("due_at", ASCENDING)])],
        ),
    ]
