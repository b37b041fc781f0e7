"""MongoDB access through PyMongo's async API, limited to what both MongoDB and FerretDB do.

FerretDB has no multi-document transactions, no ``$slice`` in ``$push``, no ``$pull`` by condition
and no array-index paths (``a.0``) in queries: the helpers here avoid all four. The local build's
other limits a service would otherwise work around are handled here too, once: reads by many
ids (``by_ids``: an ``$in`` of more than ``IDS_PER_READ`` ids, or of none, reads the whole
collection there), a counter incremented and read back (``increment``: its findAndModify ignores
a projection), bulk writes (``in_bulks``) and partial indexes (``apply_indexes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, IndexModel, ReturnDocument
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


async def by_ids(
    collection: Collection, ids: Iterable[Any], projection: Mapping[str, Any] | None = None
) -> list[Document]:
    """The documents with these ``_id`` values, in order of id; ids with none are left out.

    Read ``IDS_PER_READ`` at a time (the local FerretDB answers that many from its ``_id`` index,
    and reads the whole collection for more), and no query at all for no ids (an empty ``$in``
    scans there too)."""
    wanted = sorted(set(ids))
    found: list[Document] = []
    for part in in_bulks(wanted, IDS_PER_READ):
        cursor = collection.find({"_id": {"$in": list(part)}}, projection)
        found.extend(await cursor.to_list())
    found.sort(key=lambda document: document["_id"])
    return found


async def increment(collection: Collection, doc_id: Any, field: str) -> int:
    """Add one to a counter of a document and answer its new value (0: no such document).

    Without a projection: the local FerretDB's findAndModify does not implement ``fields``."""
    document = await collection.find_one_and_update(
        {"_id": doc_id}, {"$inc": {field: 1}}, return_document=ReturnDocument.AFTER
    )
    return int(document[field]) if document else 0


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

    On FerretDB too: the local build reads an index for equality, ``$in`` and range conditions
    on top-level fields (``ferretdb_fixes``, fix 6), so a find by an indexed field no longer
    reads the whole collection; a sort is done by the server over what those conditions select,
    and a condition on a dotted path still reads every document. FerretDB makes no partial index: a non-unique one is made over every
    document there (it serves the same queries; every write keeps it up), and a unique one, whose
    promise would change, fails loudly rather than being made wider or dropped."""
    ferretdb = await is_ferretdb(db)
    # One index per command: FerretDB 1.24 crashes on a createIndexes naming several indexes
    # when some of them exist already, which is every restart.
    for declaration in declarations:
        for model in declaration.models:
            if ferretdb:
                model = _without_partial_filter(model)
            await db[declaration.collection].create_indexes([model])


def _without_partial_filter(model: IndexModel) -> IndexModel:
    options = dict(model.document)
    if "partialFilterExpression" not in options:
        return model
    if options.get("unique"):
        raise ValueError(f"FerretDB cannot make the partial unique index {options['name']}")
    del options["partialFilterExpression"]
    return IndexModel(list(options.pop("key").items()), **options)


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
