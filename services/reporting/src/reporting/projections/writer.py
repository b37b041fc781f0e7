"""Which reporting process applies events: the holder of the writer lease (``projections.lease``).

Every process serves the API and binds the projection consumers; their pull loops wait on
``ProjectionWriter.gate``, open only while this process holds the lease. Gaining the lease drops
what the process kept in memory of the read models (another process wrote since) and finishes
the journal's batch before the gate opens; losing it closes the gate at once, then drops the
caches once the batch in hand (if any) has ended.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from datetime import UTC, datetime

import structlog
from prometheus_client import Gauge
from pymongo.errors import DuplicateKeyError

from reporting.projections.batch import apply_pending, forget_all
from reporting.projections.generations import META, Generations
from reporting.projections.lease import LEASE_ID, Change, Hold, LeaseTerms
from roundtable_shared.observability.redaction import exception_summary
from roundtable_shared.storage.mongo import Collection

log = structlog.get_logger(__name__)

WRITER = Gauge(
    "reporting_projection_writer",
    "1 while this process holds the projection writer lease and applies events, 0 while it "
    "stands by.",
)


class LeaseStore:
    """The lease document in ``reporting_meta``; each change is one conditional update, which
    the database applies atomically."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    async def take(self, holder: str, now: datetime, expires_at: datetime) -> bool:
        """Take the lease if it is free or expired, or renew it if it is ours: whether it is."""
        try:
            await self.collection.update_one(
                {"_id": LEASE_ID, "$or": [{"holder": holder}, {"expires_at": {"$lte": now}}]},
                {"$set": {"holder": holder, "expires_at": expires_at, "renewed_at": now}},
                upsert=True,
            )
        except DuplicateKeyError:  # no match, so the upsert tried to insert: another holds it
            return False
        return True

    async def release(self, holder: str, now: datetime) -> None:
        await self.collection.update_one(
            {"_id": LEASE_ID, "holder": holder},
            {"$set": {"holder": None, "expires_at": now, "released_at": now}},
        )

    async def holder(self) -> str | None:
        found = await self.collection.find_one({"_id": LEASE_ID})
        return None if found is None else found.get("holder")


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ProjectionWriter:
    def __init__(
        self, generations: Generations, terms: LeaseTerms, holder: str | None = None
    ) -> None:
        self.generations = generations
        self.terms = terms
        self.holder = holder or process_id()
        self.store = LeaseStore(generations.db[META])
        self.gate = asyncio.Event()  # closed until the lease is ours
        self.hold = Hold()
        self._active = False
        """The gate was opened since the lease was gained: the caches may hold copies."""
        WRITER.set(0)

    def may_write(self) -> bool:
        """Whether a batch may be applied now; checked under the write lock before each one."""
        self.hold, change = self.hold.at(time.monotonic())
        if change is Change.LOST:
            self.gate.clear()  # the renewal loop drops the caches on its next turn
        return self.hold.may_write(time.monotonic())

    async def run(self) -> None:
        """Take or renew the lease every third of its duration until cancelled, then give it up."""
        try:
            while True:
                await self.step()
                await asyncio.sleep(self.terms.renew_every)
        except asyncio.CancelledError:
            await self.stop()
            raise

    async def step(self) -> None:
        attempted = time.monotonic()
        now = datetime.now(UTC)
        taken: bool | None
        try:
            # Bounded, so a stalled database cannot keep the loop from seeing the hold run out.
            taken = await asyncio.wait_for(
                self.store.take(self.holder, now, self.terms.expires_at(now)),
                self.terms.renew_every,
            )
        except Exception as exc:
            log.warning("projection writer lease: no answer", error=exception_summary(exc))
            taken = None
        self.hold, change = self.hold.after_attempt(self.terms, taken, attempted, time.monotonic())
        if change is Change.LOST:
            log.warning("projection writer: lease lost; standing by", holder=self.holder)
        if self.hold.holding and not self._active:
            await self._gained()
        elif not self.hold.holding and self._active:
            await self._lost()  # here, or ``may_write`` saw the hold run out and closed the gate

    async def _gained(self) -> None:
        async with self.generations.lock:
            forget_all(self.generations.lock)  # another process wrote since we last did
            try:
                await apply_pending(await self.generations.current())
            except Exception:  # the first batch tries again (``apply_batch``)
                log.exception("projection writer: finishing the last batch failed")
        if self.hold.may_write(time.monotonic()):
            self._active = True
            self.gate.set()
            WRITER.set(1)
            log.info("projection writer: this process applies events now", holder=self.holder)

    async def _lost(self) -> None:
        self.gate.clear()  # fetch nothing more, at once
        self.hold = Hold()
        WRITER.set(0)
        async with self.generations.lock:  # after the batch in hand, if any
            forget_all(self.generations.lock)  # another process may write from now on
            self._active = False

    async def stop(self) -> None:
        """Stop applying and give the lease up, so a standby takes over without waiting for it
        to expire."""
        self.gate.clear()
        self.hold = Hold()
        WRITER.set(0)
        async with self.generations.lock:
            forget_all(self.generations.lock)
            self._active = False
        # Whatever this process believes it holds: a take cancelled in flight may have been
        # applied all the same, and the release changes only a lease held under our name.
        try:
            await asyncio.wait_for(self.store.release(self.holder, datetime.now(UTC)), 5.0)
        except Exception as exc:  # it expires on its own
            log.warning(
                "projection writer: releasing the lease failed", error=exception_summary(exc)
            )
