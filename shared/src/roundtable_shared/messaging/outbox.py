"""The transactional outbox, kept inside the document it belongs to.

A state change and the events it raises are written in ONE single-document update (FerretDB has no
multi-document transactions): ``with_outbox`` adds the events to the document's ``outbox`` array in
the same ``update_one`` as the change. ``OutboxRelay`` publishes pending events in order, then clears
them only if no new event was added meanwhile (``outbox_rev`` unchanged).

Crash between write and publish: the events are still in the document; the next relay pass sends
them. Crash between publish and clear: they are sent again with the same ``Nats-Msg-Id``; JetStream's
duplicate window drops the copy, and consumers are idempotent beyond it.

Finding the work: a write that raised events tells the relay which document it was
(``pending``), and the relay reads those documents by ``_id``. An insert also hands over the
events it wrote (the new document's whole outbox, ``outbox_rev`` 1): those are published as
handed, without reading the document back, and cleared on the same condition as any other (a
write since then changed ``outbox_rev``, so the clearing misses and the document is read on
that write's word, or found by a sweep). Looking for pending outboxes
across a whole collection (``{outbox_pending: true}``) is a *sweep*: at start, when asked
(``nudge``, e.g. after a bulk import), after a failed pass, and every ``sweep_seconds`` for what
another replica left behind when it died. A sweep is a scan on FerretDB, so it is not done on
every write, and the periodic one waits long enough to take at most ``SWEEP_SHARE`` of the time:
on a collection of 100,000 reminders one costs the server a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import structlog
from bson import ObjectId
from pymongo import DeleteMany, IndexModel, UpdateMany

from roundtable_shared.events.envelope import Envelope
from roundtable_shared.faults import crash_point
from roundtable_shared.observability import metrics
from roundtable_shared.storage.bulk import bulk_write
from roundtable_shared.storage.mongo import IDS_PER_READ, Database, Document, Indexes, in_bulks

log = structlog.get_logger(__name__)

PENDING = "outbox_pending"
SWEEP_SHARE = 0.05
"""The most of its time the relay spends on periodic sweeps (whole-collection scans on FerretDB)."""
HELD_INSERTS = 10_000
"""Inserted documents per collection whose events the relay keeps in memory until it publishes
them; beyond that (NATS away a long time, a paused relay) it reads them back as any other."""


def outbox_indexes(collection: str) -> Indexes:
    """What lets a sweep find pending outboxes without a scan (on FerretDB, which makes no
    partial index, it holds every document; see ``apply_indexes``)."""
    return Indexes(
        collection, [IndexModel([(PENDING, 1)], partialFilterExpression={PENDING: True})]
    )


def sweep_interval(sweep_seconds: float, last_sweep_took: float) -> float:
    """Seconds between periodic sweeps: ``sweep_seconds``, or longer when a sweep is slow."""
    return max(sweep_seconds, last_sweep_took / SWEEP_SHARE)


def with_outbox(update: dict[str, Any], events: Sequence[Envelope]) -> dict[str, Any]:
    """Merge the outbox additions into a MongoDB update document (a new dict)."""
    if not events:
        return update
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})["outbox"] = {
        "$each": [event.model_dump(mode="json") for event in events]
    }
    merged.setdefault("$set", {})[PENDING] = True
    merged.setdefault("$inc", {})["outbox_rev"] = 1
    return merged


def new_document_outbox(events: Sequence[Envelope]) -> Document:
    """Outbox fields of a document inserted together with its first events."""
    return {
        "outbox": [event.model_dump(mode="json") for event in events],
        PENDING: bool(events),
        "outbox_rev": 1 if events else 0,
    }


def clearing_selectors(documents: Sequence[Document]) -> list[Document]:
    """Filters that match each document only while its outbox is as it was read: the documents
    grouped by their ``outbox_rev``, by ``_id`` ``$in`` (in the order first seen). An ``_id``
    other than a string or an ObjectId gets a filter of its own: the local server answers an
    ``$in`` of those by reading the whole collection (``storage.mongo.by_ids``)."""
    by_rev: dict[Any, list[Any]] = {}
    selectors: list[Document] = []
    for document in documents:
        rev = document.get("outbox_rev", 0)
        if isinstance(document["_id"], str | ObjectId):
            by_rev.setdefault(rev, []).append(document["_id"])
        else:
            selectors.append({"_id": document["_id"], "outbox_rev": rev})
    for rev, ids in by_rev.items():
        for part in in_bulks(ids, IDS_PER_READ):
            selectors.append({"_id": {"$in": list(part)}, "outbox_rev": rev})
    return selectors


class EnvelopePublisher(Protocol):
    async def publish(self, envelope: Envelope) -> None: ...


class PendingOutbox(Protocol):
    """``OutboxRelay.pending``: how a write tells the relay that a document holds new events."""

    def __call__(
        self, collection: str, document_id: Any, *, inserted: Sequence[Envelope] = ()
    ) -> None: ...


class OutboxRelay:
    """Publishes what the outboxes of some collections hold. Safe to run in several replicas."""

    def __init__(
        self,
        db: Database,
        collections: Sequence[str],
        publisher: EnvelopePublisher,
        *,
        poll_seconds: float = 0.5,
        sweep_seconds: float = 5.0,
        batch_size: int = 50,  # FerretDB 1.24 hangs on bulk updates of 100 or more
        spent_when_published: Sequence[str] = (),
    ) -> None:
        """``spent_when_published``: collections whose documents are only a batch of events,
        deleted (not cleared) once those are published."""
        self._db = db
        self._collections = list(collections)
        self._spent = set(spent_when_published)
        self._publisher = publisher
        self._poll_seconds = poll_seconds
        self._sweep_seconds = sweep_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._pauses = 0
        self._running = False
        # Documents writes told us of, in the order told, with when they were first told.
        self._pending: dict[str, dict[Any, float]] = {name: {} for name in self._collections}
        # Of those, documents just inserted with these events as their whole outbox.
        self._inserted: dict[str, dict[Any, Sequence[Envelope]]] = {
            name: {} for name in self._collections
        }
        # Documents whose events are published and whose clearing write is in flight: the next
        # pass does not wait for that write, and leaves them out until it lands.
        self._clearing: dict[str, set[Any]] = {name: set() for name in self._collections}
        self._clears: set[asyncio.Task[None]] = set()
        self._sweep_requested = True  # the first pass finds what was left before we started
        self._last_sweep = 0.0
        self._last_sweep_took = 0.0
        self._healthy = True  # the last pass worked (after a failure, wait before the next)

    def nudge(self) -> None:
        """Events were written somewhere in these collections: sweep for them now."""
        self._sweep_requested = True
        self._wake.set()

    def pending(
        self, collection: str, document_id: Any, *, inserted: Sequence[Envelope] = ()
    ) -> None:
        """A write just raised events in this document: send them now, found by ``_id``.
        ``inserted``: the write inserted the document with these events as its outbox (stored,
        ``outbox_rev`` 1), so they need not be read back."""
        if collection not in self._pending:
            self.nudge()
            return
        waiting, held = self._pending[collection], self._inserted[collection]
        if inserted and document_id not in waiting and len(held) < HELD_INSERTS:
            held[document_id] = list(inserted)
        else:
            # Another write to it: what its outbox holds now is read from the document.
            held.pop(document_id, None)
        waiting.setdefault(document_id, time.monotonic())
        self._wake.set()

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Hold the relay back (nestable), e.g. while a bulk import needs the database to itself:
        the events wait, committed, in their documents and leave right after."""
        self._pauses += 1
        try:
            yield
        finally:
            self._pauses -= 1
            self._wake.set()  # what the writes named goes now; the next sweep finds the rest

    def stop(self) -> None:
        self._running = False
        self._wake.set()

    async def run(self) -> None:
        # A flag, not only cancellation: on Python 3.11 a cancel that meets a nudge inside
        # wait_for is swallowed, and a relay waiting only for cancellation never stops.
        self._running = True
        try:
            while self._running:
                sent = 0 if self._pauses else await self._pass()
                told_more = not self._pauses and self._healthy and self._told_of_more()
                if sent or told_more:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
                self._wake.clear()
        finally:
            await asyncio.gather(*self._clears, return_exceptions=True)

    def _told_of_more(self) -> bool:
        """Writes told of documents a pass could take now (not those still being cleared)."""
        return any(
            any(document_id not in self._clearing[name] for document_id in waiting)
            for name, waiting in self._pending.items()
        )

    async def _pass(self) -> int:
        try:
            sent = await self.relay_once()
        except Exception:
            self._healthy = False
            # NATS or the database is away: the events wait in their documents; the next pass
            # sweeps, since the documents this one was told about may be among them.
            log.exception("outbox relay pass failed")
            self._sweep_requested = True
            return 0
        self._healthy = True
        return sent

    async def relay_once(self) -> int:
        """One pass: a sweep when one is due, else the documents writes told us about."""
        started = time.monotonic()
        interval = sweep_interval(self._sweep_seconds, self._last_sweep_took)
        sweep = self._sweep_requested or started - self._last_sweep >= interval
        if sweep:
            self._sweep_requested = False
            self._last_sweep = started
        sent = 0
        took = 0.0
        # Collection by collection, as the services' writes go: what a write told us of in one
        # leaves before a sweep of the next finds anything raised after it.
        for name in self._collections:
            if sweep:
                sweep_started = time.monotonic()
                sent += await self._sweep(name)
                took += time.monotonic() - sweep_started
            sent += await self._relay_pending(name)
        if sweep:
            self._last_sweep_took = took
        return sent

    async def _sweep(self, name: str) -> int:
        found = await (
            self._db[name]
            .find({PENDING: True}, {"outbox": 1, "outbox_rev": 1}, limit=self._batch_size)
            .to_list()
        )
        if len(found) == self._batch_size and not self._pending[name]:
            # More may wait and no write named them (a crash's leftovers): sweep on. When writes
            # did name documents (a bulk import), reading those by _id is the cheaper way on.
            self._sweep_requested = True
        documents = [doc for doc in found if doc["_id"] not in self._clearing[name]]
        for document in documents:
            # Sent from what was read here: a later pass must not send them again from memory.
            self._inserted[name].pop(document["_id"], None)
        if len(documents) < len(found):
            # Some are still being cleared and may hide others behind the limit: look again
            # once they are (their clearing wakes the relay).
            self._sweep_requested = True
        return await self._publish_and_clear(name, documents)

    async def _relay_pending(self, name: str) -> int:
        waiting = self._pending[name]
        clearing = self._clearing[name]
        ids = [document_id for document_id in waiting if document_id not in clearing]
        ids = ids[: self._batch_size]
        told_at = {document_id: waiting.pop(document_id) for document_id in ids}
        if not ids:
            return 0
        # Inserted with the events handed over: the document as it was written, not read.
        found: list[Document] = []
        unread: list[Any] = []
        for document_id in ids:
            inserted = self._inserted[name].pop(document_id, None)
            if inserted is None:
                unread.append(document_id)
            else:
                found.append({"_id": document_id, "outbox": inserted, "outbox_rev": 1})
        if unread:
            found += await (
                self._db[name]
                .find({"_id": {"$in": unread}, PENDING: True}, {"outbox": 1, "outbox_rev": 1})
                .to_list()
            )
        # In the order the writes told us, which the server's answer does not keep: events of
        # one subject raised in two documents (a participant's change, then its pause) leave in
        # the order they were raised.
        told = {document_id: n for n, document_id in enumerate(ids)}
        found.sort(key=lambda doc: told[doc["_id"]])
        return await self._publish_and_clear(name, found, told_at)

    async def _publish_and_clear(
        self, name: str, documents: list[Document], told_at: dict[Any, float] | None = None
    ) -> int:
        """Each document's events in order, documents side by side, one clearing write.
        ``told_at``: when writes told us of these documents (for the relay delay metric)."""
        if not documents:
            return 0
        in_flight = asyncio.Semaphore(32)

        async def publish_in_order(document: Document) -> int:
            async with in_flight:
                events = [
                    raw if isinstance(raw, Envelope) else Envelope.model_validate(raw)
                    for raw in document.get("outbox", [])
                ]
                for event in events:
                    crash_point("outbox.before_publish")
                    await self._publisher.publish(event)
                    crash_point("outbox.after_publish")
                return len(events)

        counts = await asyncio.gather(*(publish_in_order(doc) for doc in documents))
        published_at = time.monotonic()
        for document in documents:
            if told_at is not None and document["_id"] in told_at:
                delay = published_at - told_at[document["_id"]]
                metrics.OUTBOX_RELAY_DELAY.labels(collection=name).observe(delay)
        # Cleared in the background: the next pass need not wait for this write (it leaves
        # these documents out until it lands, so their events are not published twice).
        ids = [document["_id"] for document in documents]
        self._clearing[name].update(ids)
        task = asyncio.create_task(self._clear(name, documents))
        self._clears.add(task)
        task.add_done_callback(lambda done: self._cleared(name, ids, done))
        metrics.OUTBOX_PUBLISHED.labels(collection=name).inc(sum(counts))
        return sum(counts)

    async def _clear(self, name: str, documents: list[Document]) -> None:
        """Cleared only where no event was added since we read it (outbox_rev unchanged).

        One statement per outbox_rev the documents share (a pass's new documents all have the
        same), not one per document: the server selects them by ``_id`` and writes them in one
        statement (on the local FerretDB about a fifth less CPU per document than one update
        each, measured 2026-12-07), with the same condition on each document."""
        spent = name in self._spent
        operations = [
            DeleteMany(selector)
            if spent
            else UpdateMany(selector, {"$set": {"outbox": [], PENDING: False}})
            for selector in clearing_selectors(documents)
        ]
        await bulk_write(self._db[name], operations, ordered=False)

    def _cleared(self, name: str, ids: list[Any], task: asyncio.Task[None]) -> None:
        self._clears.discard(task)
        self._clearing[name].difference_update(ids)
        if not task.cancelled() and task.exception() is not None:
            # Published but not cleared: a later pass publishes them again (same ids, which
            # JetStream's duplicate window drops); the sweep finds them even if nobody tells.
            log.error("outbox relay could not clear published events", collection=name)
            self._sweep_requested = True
        self._wake.set()  # what waited for these documents may go now
