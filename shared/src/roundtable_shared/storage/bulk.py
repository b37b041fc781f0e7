"""Bulk writes and reads by many ids, written once for every server the services run on.

A service calls these as it would call PyMongo on MongoDB; what the embedded server cannot take
is handled here, and only when the server is that one:

- **Bulk updates of 100 statements or more hang the local FerretDB 1.24** (measured 2026-12-07:
  99 updates in one ``bulk_write`` take 0.3 s, 100 never answer, and hold the server's write lock
  so every later update waits too; inserts and deletes of 300 are fine). ``bulk_write`` sends
  the operations in parts of ``FERRETDB_STATEMENTS`` there, and in one call on MongoDB (the
  driver splits at the server's own ``maxWriteBatchSize``). The answer is the same either way:
  counts summed, and a ``BulkWriteError`` whose ``writeErrors`` index the operations as given.
- **A read of many ids**: the local server answers ``{_id: {$in: ids}}`` from its ``_id`` index
  for up to 1,000 ids (and by reading the whole collection beyond), so ``find_by_ids`` asks for
  at most ``IDS_PER_READ`` at a time, which keeps each query bounded on MongoDB too.

One more limit a service's data shape has to respect (it cannot be worked around in a helper):
FerretDB 1.24's ``$set`` of an embedded document takes a new value whose *values* equal the
stored one's for equal, whatever its keys (``{"a": 1}`` -> ``{"b": 1}`` leaves ``{"a": 1}``). A
map whose keys change while its values stay (a bucket per day, counted once) is stored as a list.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.mongo_client import AsyncMongoClient
from pymongo.errors import BulkWriteError

from roundtable_shared.storage.mongo import IDS_PER_READ, Collection, Document, in_bulks

FERRETDB_STATEMENTS = 50
"""Statements per bulk write on FerretDB: well under the 100 that hang it."""

_ferretdb: weakref.WeakKeyDictionary[AsyncMongoClient[Document], bool] = weakref.WeakKeyDictionary()


async def _is_ferretdb(collection: Collection) -> bool:
    """Asked once per client: the answer cannot change while it is connected."""
    client = collection.database.client
    known = _ferretdb.get(client)
    if known is None:
        info = await client.admin.command("buildInfo")
        known = _ferretdb[client] = "ferretdbVersion" in info
    return known


@dataclass(frozen=True)
class BulkOutcome:
    """The counts of a bulk write, named as PyMongo's ``BulkWriteResult`` names them."""

    inserted_count: int = 0
    matched_count: int = 0
    modified_count: int = 0
    deleted_count: int = 0
    upserted_count: int = 0


_COUNTS = {
    "nInserted": "inserted_count",
    "nMatched": "matched_count",
    "nModified": "modified_count",
    "nRemoved": "deleted_count",
    "nUpserted": "upserted_count",
}


async def bulk_write(
    collection: Collection, operations: Sequence[Any], *, ordered: bool = True
) -> BulkOutcome:
    """``collection.bulk_write(operations, ordered=ordered)``, in parts where the server needs
    them (see the module's docstring). Ordered: a part is sent only once the one before it
    succeeded, so a failure stops the rest as one call would."""
    if not operations:
        return BulkOutcome()
    size = FERRETDB_STATEMENTS if await _is_ferretdb(collection) else len(operations)
    totals = dict.fromkeys(_COUNTS, 0)
    errors: list[dict[str, Any]] = []
    for offset, part in _parts(operations, size):
        try:
            result = await collection.bulk_write(list(part), ordered=ordered)
        except BulkWriteError as exc:
            _add(totals, exc.details)
            errors += [{**e, "index": int(e["index"]) + offset} for e in _write_errors(exc)]
            if ordered:
                break
            continue
        _add(totals, result.bulk_api_result)
    if errors:
        raise BulkWriteError(
            {**totals, "writeErrors": errors, "writeConcernErrors": [], "upserted": []}
        )
    return BulkOutcome(**{name: totals[key] for key, name in _COUNTS.items()})


def _parts(operations: Sequence[Any], size: int) -> Iterable[tuple[int, Sequence[Any]]]:
    for start in range(0, len(operations), size):
        yield start, operations[start : start + size]


def _add(totals: dict[str, int], details: Mapping[str, Any]) -> None:
    for key in totals:
        totals[key] += int(details.get(key, 0))


def _write_errors(exc: BulkWriteError) -> list[dict[str, Any]]:
    return list(exc.details.get("writeErrors", []))


async def find_by_ids(
    collection: Collection, ids: Iterable[Any], projection: Mapping[str, Any] | None = None
) -> list[Document]:
    """The documents of these ids that exist (each id asked once), in reads of at most
    ``IDS_PER_READ`` ids."""
    found: list[Document] = []
    for part in in_bulks(list(dict.fromkeys(ids)), IDS_PER_READ):
        found += await collection.find({"_id": {"$in": list(part)}}, projection).to_list()
    return found
