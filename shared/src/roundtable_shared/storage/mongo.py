"""MongoDB access through PyMongo's async API, limited to what both MongoDB and FerretDB do.

FerretDB has no multi-document transactions, no ``$slice`` in ``$push``, no ``$pull`` by condition
and no array-index paths (``a.0``) in queries: the helpers here avoid all four.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

T = TypeVar("T")
Document = dict[str, Any]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]

BULK_STATEMENTS = 50
"""Statements per bulk write: FerretDB 1.24 hangs on bulk updates of 100 statements or more."""
IDS_PER_READ = 1000
"""Ids per ``{_id: {$in: ids}}`` read: the most the local FerretDB answers from its ``_id`` index."""


def in_bulks(items: Sequence[T], size: int = BULK_STATEMENTS) -> Iterator[Sequence[T]]:
    """``items`` in consecutive parts of at most ``size``, one bulk write each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def connect(uri: str, *, app_name: str) -> AsyncMongoClient[Document]:
    # tz_aware: datetimes come back with their UTC offset, as the HTTP contract requires.
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True, serverSelectionTimeoutMS=5000)


@dataclass(frozen=True)
class Indexes:
    """The indexes one collection needs; declared by its repository, applied at start-up."""

    collection: str
    models: Sequence[IndexModel] = field(default_factory=tuple)


async def is_ferretdb(db: Database) -> bool:
    return "ferretdbVersion" in await db.client.admin.command("buildInfo")


async def apply_indexes(db: Database, declarations: Sequence[Indexes]) -> None:
    """Create the declared indexes (those that exist already are left as they are).

    On FerretDB only the unique ones: FerretDB 1.24 on SQLite answers queries from the ``_id``
    index alone (it pushes down no other condition and no sort), so any other index is never
    read there, while every write pays for its upkeep (the reminder schedule's seven cost 2.73
    against 2.38 ms of the server's CPU per delivered reminder; docs/benchmarks/reminders.md). A
    unique index keeps its promise there, so it stays. On MongoDB every index is made."""
    ferretdb = await is_ferretdb(db)
    # One index per command: FerretDB 1.24 crashes on a createIndexes naming several indexes
    # when some of them exist already, which is every restart.
    for declaration in declarations:
        for model in declaration.models:
            if ferretdb and not model.document.get("unique"):
                continue
            await db[declaration.collection].create_indexes([model])


async def upsert_if_newer(
    collection: Collection, doc_id: str, version: int, fields: Mapping[str, Any]
) -> bool:
    """Store a copy of an aggregate unless a copy as new or newer is already there.

    The way consumers keep other services' data: idempotent (the same version twice is a no-op)
    and order-tolerant (an older version arriving late changes nothing). True when it applied.
    """
    try:
        result = await collection.update_one(
            {"_id": doc_id, "version": {"$lt": version}},
            {"$set": {**fields, "version": version}},
            upsert=True,
        )
    except DuplicateKeyError:
        return False  # a copy with version >= ours exists: the filter missed, the insert collided
    return result.modified_count == 1 or result.upserted_id is not None
