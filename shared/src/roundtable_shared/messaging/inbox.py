"""Consumer idempotency: which events each consumer has already finished.

A marker per (consumer, event id) under a unique ``_id``, read and written once per batch. The
consumer skips an event whose marker exists; it writes the marker after the handler's effect. A crash between the effect and the marker
means the handler runs again on redelivery, so handlers make their effects repeatable: version-
guarded copies (``upsert_if_newer``) or updates guarded by the event id (``apply_once``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import IndexModel
from pymongo.errors import BulkWriteError, DuplicateKeyError

from roundtable_shared.storage.bulk import find_by_ids
from roundtable_shared.storage.mongo import Collection, Database, Indexes

INBOX = "processed_events"
INBOX_INDEXES = Indexes(INBOX, [IndexModel([("consumer", 1), ("processed_at", 1)])])


class Inbox:
    def __init__(self, db: Database) -> None:
        self._collection = db[INBOX]

    async def seen_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """Which of these events the consumer has finished already: one read by ``_id``."""
        keys = [f"{consumer}:{event_id}" for event_id in event_ids]
        found = await find_by_ids(self._collection, keys, {"_id": 1})
        return {doc["_id"].split(":", 1)[1] for doc in found}

    async def mark_many(self, consumer: str, event_ids: Sequence[str]) -> None:
        """Record finished events (one write); ids already recorded by a replica are fine."""
        if not event_ids:
            return
        now = datetime.now(UTC)
        markers = [
            {"_id": f"{consumer}:{event_id}", "consumer": consumer, "processed_at": now}
            for event_id in dict.fromkeys(event_ids)
        ]
        with contextlib.suppress(BulkWriteError):  # only duplicate keys can fail these inserts
            await self._collection.insert_many(markers, ordered=False)


async def apply_once(
    collection: Collection,
    doc_id: Any,
    event_id: str,
    update: dict[str, Any],
    *,
    upsert: bool = True,
) -> bool:
    """Apply an update to one document at most once per event id, atomically.

    The event id is recorded in the document by the same update that applies the effect, so no
    crash can separate the two. True when the update applied, False for a repeat.
    """
    guarded = {op: dict(fields) for op, fields in update.items()}
    guarded.setdefault("$addToSet", {})["applied_events"] = event_id
    try:
        result = await collection.update_one(
            {"_id": doc_id, "applied_events": {"$ne": event_id}}, guarded, upsert=upsert
        )
    except DuplicateKeyError:
        return False  # the document exists and already holds this event id
    return result.modified_count == 1 or result.upserted_id is not None
