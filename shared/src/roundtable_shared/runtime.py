"""What every service process runs besides its HTTP routes: database, NATS, outbox relay, consumers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog
from pymongo import AsyncMongoClient

from roundtable_shared.events.sealing import KeyRing
from roundtable_shared.messaging.connection import service_broker
from roundtable_shared.messaging.consumer import ConsumerRunner, EventConsumer
from roundtable_shared.messaging.inbox import INBOX_INDEXES, Inbox
from roundtable_shared.messaging.outbox import OutboxRelay, outbox_indexes
from roundtable_shared.messaging.permissions import declared_streams
from roundtable_shared.messaging.publisher import JetStreamPublisher
from roundtable_shared.messaging.streams import (
    PRODUCERS,
    dead_letter_config,
    declare_stream,
    stream_config,
)
from roundtable_shared.settings import ServiceSettings
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document, Indexes, apply_indexes, connect

log = structlog.get_logger(__name__)

CANCEL_REPEAT_SECONDS = 0.5


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        indexes: Sequence[Indexes] = (),
        outbox_collections: Sequence[str] = (),
        event_batch_collections: Sequence[str] = (),
        retired_collections: Sequence[str] = (),
    ) -> None:
        """``outbox_collections``: collections whose documents carry an outbox beside their
        state. ``event_batch_collections``: collections whose documents are only an outbox (a
        batch of events written on its own), deleted once their events are published.
        ``retired_collections``: what earlier versions kept and this one no longer reads; dropped
        at start, so no copy of a person's data outlives the code that erased it."""
        self.settings = settings
        self.mongo: AsyncMongoClient[Document] = connect(
            settings.mongodb_uri, app_name=settings.service_name
        )
        self.db: Database = self.mongo[settings.database_name]
        self.broker = service_broker(
            settings,
            max_reconnect_attempts=-1,  # ride out a NATS restart instead of dying
            reconnect_time_wait=1,
            graceful_timeout=10.0,
            log_level=logging.DEBUG,  # one line per message is noise at 1,000 events/s
        )
        self.keys = KeyRing(settings.service_name, settings.namespace, settings.stream_replicas)
        """Per-person data keys: this service's own to seal and shred, every producer's to open."""
        self.publisher = JetStreamPublisher(self.broker, settings.namespace, seal=self.keys.seal)
        self.inbox = Inbox(self.db)
        self.relay = OutboxRelay(
            self.db,
            [*outbox_collections, *event_batch_collections],
            self.publisher,
            poll_seconds=settings.outbox_poll_seconds,
            sweep_seconds=settings.outbox_sweep_seconds,
            spent_when_published=event_batch_collections,
        )
        self._indexes = [*indexes, INBOX_INDEXES, *map(outbox_indexes, outbox_collections)]
        self._retired = tuple(retired_collections)
        self._consumers: list[ConsumerRunner] = []
        self._relay_task: asyncio.Task[None] | None = None
        self._background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._background_tasks: list[asyncio.Task[None]] = []

    def aggregate_store(self, collection: str) -> AggregateStore:
        """Where a repository saves aggregates with their events; the relay publishes them."""
        return AggregateStore(
            self.db[collection],
            source=self.settings.event_source,
            nudge=self.relay.nudge,
            pending=self.relay.pending,
        )

    def add_background(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A loop that runs while the service runs (a worker, a timer); register before ``start``.
        It is cancelled at stop, so it keeps its state in the database, not in memory."""
        self._background.append(loop)

    def add_consumer(self, consumer: EventConsumer) -> None:
        """Register before ``start``."""
        runner = ConsumerRunner(
            consumer,
            self.broker,
            self.inbox,
            self.settings.namespace,
            opener=self.keys.open,
            concurrency=self.settings.consumer_concurrency,
        )
        self._consumers.append(runner)

    async def start(self) -> None:
        for name in self._retired:  # idempotent: dropping a missing collection is no error
            await self.db.drop_collection(name)
        await apply_indexes(self.db, self._indexes)
        await self.broker.connect()
        await self._declare_streams()
        await self.broker.start()
        js = self.broker.connection.jetstream()
        for runner in self._consumers:
            await runner.start(js)
        self._relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")
        self._background_tasks = [asyncio.create_task(loop()) for loop in self._background]
        log.info("service runtime started", database=self.settings.database_name)

    async def _declare_streams(self) -> None:
        # A service declares its own stream and creates those it reads when absent (same
        # configuration), so a consumer can bind before its producer has ever started; only a
        # producer changes its stream (its NATS user may not change another's).
        js = self.broker.connection.jetstream()
        ns, replicas = self.settings.namespace, self.settings.stream_replicas
        for producer, update in declared_streams(self.settings.service_name).items():
            await declare_stream(js, stream_config(producer, ns, replicas), update=update)
        await declare_stream(js, dead_letter_config(ns, replicas))
        await self.keys.bind(js, PRODUCERS)

    async def stop(self) -> None:
        for task in self._background_tasks:
            await _cancelled(task)
        for runner in self._consumers:
            await runner.stop()
        if self._relay_task:
            self.relay.stop()
            # After 10 s wait_for cancels it: a pass stuck on NATS or the database.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._relay_task, 10.0)
        await self.broker.stop()
        await self.mongo.close()

    async def readiness(self) -> dict[str, bool]:
        return {"database": await self._database_ready(), "nats": self._nats_ready()}

    async def _database_ready(self) -> bool:
        try:
            await asyncio.wait_for(self.db.command("ping"), 2.0)
        except Exception:
            return False
        return True

    def _nats_ready(self) -> bool:
        try:
            return bool(self.broker.connection.is_connected)
        except Exception:
            return False


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel a background loop and wait for it to end. The cancel is repeated: a loop that
    retries after ``except Exception`` can lose one when a driver call it was in turns the
    cancellation into an error of its own, and would then run (and stop waiting) forever."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_REPEAT_SECONDS)
    with contextlib.suppress(asyncio.CancelledError):
        await task
