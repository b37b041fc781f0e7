"""Saving an aggregate together with the events its change raised, in one single-document write.

Each event raised bumps the aggregate's ``version`` by one and carries the new version as
``aggregateversion``, so consumers keeping a copy can tell a stale event from a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError

from roundtable_shared.events.envelope import Envelope, EventData, new_envelope
from roundtable_shared.messaging.outbox import PendingOutbox, new_document_outbox, with_outbox
from roundtable_shared.storage.mongo import Collection, Document


class AlreadyExists(Exception):
    """An aggregate with this id exists (for creating endpoints: a retried request)."""


class AggregateStore:
    def __init__(
        self,
        collection: Collection,
        *,
        source: str,
        nudge: Callable[[], None] = lambda: None,
        pending: PendingOutbox | None = None,
    ) -> None:
        """``pending(collection, aggregate_id)`` (``OutboxRelay.pending``) tells the relay which
        document has new events, which it then reads by ``_id``; without it, ``nudge()`` asks
        the relay to search the whole collection."""
        self.collection = collection
        self._source = source
        self._nudge = nudge
        self._pending = pending

    def announce(self, *aggregate_ids: Any) -> None:
        """Tell the relay these documents hold new events (for writes made outside ``insert``
        and ``update``, e.g. a bulk write of prepared operations)."""
        if self._pending is None:
            self._nudge()
            return
        for aggregate_id in aggregate_ids:
            self._pending(self.collection.name, aggregate_id)

    def envelopes(
        self, aggregate_id: str, from_version: int, events: Sequence[EventData]
    ) -> list[Envelope]:
        return [
            new_envelope(
                data,
                subject=aggregate_id,
                aggregate_version=from_version + n + 1,
                source=self._source,
            )
            for n, data in enumerate(events)
        ]

    async def insert(self, document: Document, events: Sequence[EventData]) -> int:
        """Insert a new aggregate with its first events; returns its version."""
        version = max(1, len(events))
        outbox = self.envelopes(str(document["_id"]), 0, events)
        try:
            await self.collection.insert_one(
                {**document, "version": version, **new_document_outbox(outbox)}
            )
        except DuplicateKeyError:
            raise AlreadyExists(str(document["_id"])) from None
        if outbox:
            if self._pending is None:
                self._nudge()
            else:  # the relay sends these as written, without reading the document back
                self._pending(self.collection.name, document["_id"], inserted=outbox)
        return version

    async def update(
        self,
        aggregate_id: Any,
        expected_version: int,
        changes: dict[str, Any],
        events: Sequence[EventData],
    ) -> int | None:
        """Apply ``changes`` (a MongoDB update) if the aggregate is still at ``expected_version``.

        Returns the new version, or None when someone else changed it first (a stale write).
        """
        bump = max(1, len(events))
        outbox = self.envelopes(str(aggregate_id), expected_version, events)
        # Merged, not replaced: a change that counts something keeps its own $inc.
        increments = {**changes.get("$inc", {}), "version": bump}
        update = with_outbox({**changes, "$inc": increments}, outbox)
        result = await self.collection.update_one(
            {"_id": aggregate_id, "version": expected_version}, update
        )
        if result.matched_count == 0:
            return None
        if outbox:
            self.announce(aggregate_id)
        return expected_version + bump
