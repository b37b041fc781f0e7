"""How the relay finds its work: the documents writes tell it about, by ``_id``, at once; the rest
(what a crashed replica left) by a sweep of the whole collection, at start and every
``outbox_sweep_seconds``. Real NATS, a real database, the runtime every service runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.client import Client as NatsClient
from pymongo import AsyncMongoClient, monitoring

from roundtable_dev.testing.servers import ServerUrls
from roundtable_shared.events.catalogue.sessions import ActionCompleted
from roundtable_shared.events.envelope import Envelope, new_envelope
from roundtable_shared.messaging.outbox import (
    SWEEP_SHARE,
    EnvelopePublisher,
    OutboxRelay,
    new_document_outbox,
    sweep_interval,
)
from roundtable_shared.messaging.streams import stream_name
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings
from roundtable_shared.storage.aggregates import AggregateStore
from roundtable_shared.storage.mongo import Database, Document

COLLECTION = "action_steps"


def completed(action_id: str) -> ActionCompleted:
    return ActionCompleted(
        action_id=action_id,
        session_id="session-1",
        group_id="group-1",
        program_id="program-1",
        owner_id="employee-1",
        accountability_partner_id="employee-2",
        completed_at=datetime.now(UTC),
    )


async def published(nats_client: NatsClient, namespace: str) -> int:
    info = await nats_client.jetstream().stream_info(stream_name("sessions", namespace))
    return int(info.state.messages)


async def wait_until(read: Callable[[], object], expected: int, timeout: float) -> float:
    """Seconds until ``await read()`` equals ``expected``; fails after ``timeout``."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < timeout:
        if await read() == expected:  # type: ignore[misc]
            return loop.time() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not {expected} after {timeout}s: {await read()}")  # type: ignore[misc]


async def test_told_documents_leave_at_once_and_untold_ones_at_the_next_sweep(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    settings = make_settings(
        ServiceSettings, service_name="sessions", outbox_poll_seconds=0.05, outbox_sweep_seconds=3
    )
    runtime = ServiceRuntime(settings, outbox_collections=[COLLECTION])
    await runtime.start()
    try:
        count = lambda: published(nats_client, namespace)  # noqa: E731
        await asyncio.sleep(0.3)  # the start-up sweep has run and found nothing

        # Written as a crashed replica would leave it: events in the document, nobody told.
        untold = new_envelope(
            completed("a-untold"), subject="a-untold", aggregate_version=1, source="/sessions"
        )
        await runtime.db[COLLECTION].insert_one(
            {"_id": "a-untold", "version": 1, **new_document_outbox([untold])}
        )
        # Written through the aggregate store, which tells the relay.
        store = runtime.aggregate_store(COLLECTION)
        await store.insert({"_id": "a-told"}, [completed("a-told")])

        told_after = await wait_until(count, 1, timeout=2)
        assert told_after < 1.0
        await asyncio.sleep(0.5)
        assert await count() == 1  # the untold one waits for the sweep...
        await wait_until(count, 2, timeout=5)  # ...which comes within outbox_sweep_seconds
        pending = await runtime.db[COLLECTION].count_documents({"outbox_pending": True})
        assert pending == 0
    finally:
        await runtime.stop()


async def test_a_nudge_asks_for_a_sweep_at_once(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    settings = make_settings(
        ServiceSettings, service_name="sessions", outbox_poll_seconds=0.05, outbox_sweep_seconds=60
    )
    runtime = ServiceRuntime(settings, outbox_collections=[COLLECTION])
    await runtime.start()
    try:
        await asyncio.sleep(0.3)
        # A bulk write (an import) writes many documents and nudges once.
        documents = []
        for n in range(60):  # more than one relay batch
            action_id = f"a-bulk-{n:02d}"
            envelope = new_envelope(
                completed(action_id), subject=action_id, aggregate_version=1, source="/sessions"
            )
            documents.append({"_id": action_id, "version": 1, **new_document_outbox([envelope])})
        await runtime.db[COLLECTION].insert_many(documents[:40])
        await runtime.db[COLLECTION].insert_many(documents[40:])
        runtime.relay.nudge()
        await wait_until(lambda: published(nats_client, namespace), 60, timeout=10)
    finally:
        await runtime.stop()


async def test_an_event_batch_is_published_then_deleted(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    settings = make_settings(
        ServiceSettings, service_name="sessions", outbox_poll_seconds=0.05, outbox_sweep_seconds=60
    )
    runtime = ServiceRuntime(settings, event_batch_collections=["step_events"])
    await runtime.start()
    try:
        envelopes = [
            new_envelope(completed(f"a-{n}"), subject=f"a-{n}", aggregate_version=1, source="/s")
            for n in range(3)
        ]
        await runtime.db["step_events"].insert_one(
            {"_id": "batch-1", **new_document_outbox(envelopes)}
        )
        runtime.relay.pending("step_events", "batch-1")

        await wait_until(lambda: published(nats_client, namespace), 3, timeout=5)
        await wait_until(lambda: runtime.db["step_events"].count_documents({}), 0, timeout=5)
    finally:
        await runtime.stop()


def test_a_slow_sweep_spaces_the_periodic_ones_out() -> None:
    # A quick sweep (MongoDB's index) keeps the configured period...
    assert sweep_interval(5.0, last_sweep_took=0.02) == 5.0
    # ...a scan of a big collection on FerretDB takes at most SWEEP_SHARE of the time.
    took = 1.5
    assert sweep_interval(5.0, last_sweep_took=took) * SWEEP_SHARE == took


class Clearings(monitoring.CommandListener):
    """The relay's clearing statements sent to one collection, per command."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.commands: list[list[Document]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update" and event.command["update"] == self.collection:
            statements = list(event.command["updates"])
            if all(s["u"] == {"$set": {"outbox": [], "outbox_pending": False}} for s in statements):
                self.commands.append(statements)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


class WriteWhilePublishing:
    """The runtime's publisher; while it publishes one document's event, another write adds an
    event to that document (a request landing between the relay's read and its clearing)."""

    def __init__(self, publisher: EnvelopePublisher, store: AggregateStore, target: str) -> None:
        self.publisher = publisher
        self.store = store
        self.target = target
        self.written = False

    async def publish(self, envelope: Envelope) -> None:
        await self.publisher.publish(envelope)
        if envelope.subject == self.target and not self.written:
            self.written = True
            saved = await self.store.update(self.target, 1, {}, [completed(self.target)])
            assert saved == 2


async def test_a_pass_clears_its_documents_in_one_statement_per_outbox_rev(
    make_settings: Callable[..., ServiceSettings],
    nats_client: NatsClient,
    namespace: str,
    servers: ServerUrls,
) -> None:
    """Clearing is one write for the pass's documents (one statement per ``outbox_rev`` they
    share), not one per document, and still leaves alone a document whose outbox grew after
    the relay read it: its new event leaves with the next pass, nothing is lost."""
    settings = make_settings(
        ServiceSettings, service_name="sessions", outbox_poll_seconds=60, outbox_sweep_seconds=60
    )
    runtime = ServiceRuntime(settings)  # NATS and the streams; its own relay relays nothing
    await runtime.start()
    clearings = Clearings(COLLECTION)
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        servers.mongodb_uri, tz_aware=True, event_listeners=[clearings]
    )
    db = client[settings.database_name]
    try:
        store = AggregateStore(db[COLLECTION], source="/sessions")
        for n in range(6):
            await store.insert({"_id": f"a-{n}"}, [completed(f"a-{n}")])  # outbox_rev 1
        for n in (6, 7):  # two writes each: outbox_rev 2
            await store.insert({"_id": f"a-{n}"}, [completed(f"a-{n}")])
            assert await store.update(f"a-{n}", 1, {}, [completed(f"a-{n}")]) == 2
        publisher = WriteWhilePublishing(runtime.publisher, store, target="a-0")
        relay = OutboxRelay(db, [COLLECTION], publisher)
        for n in range(8):
            relay.pending(COLLECTION, f"a-{n}")

        assert await relay.relay_once() == 10
        await wait_until(lambda: cleared(db), 7, timeout=5)

        assert len(clearings.commands) == 1, clearings.commands  # one bulk write...
        statements = clearings.commands[0]
        assert len(statements) == 2, statements  # ...of one statement per outbox_rev
        assert sorted(s["q"]["outbox_rev"] for s in statements) == [1, 2]
        left = await db[COLLECTION].find_one({"_id": "a-0"})
        assert left is not None and left["outbox_pending"] and len(left["outbox"]) == 2
        relay.pending(COLLECTION, "a-0")  # as the write that added the event told it
        assert await relay.relay_once() == 2  # the one published already is sent again...
        await wait_until(lambda: cleared(db), 8, timeout=5)
        # ...and dropped as a duplicate: every event is in the stream once.
        assert await published(nats_client, namespace) == 11
    finally:
        await client.drop_database(db.name)
        await client.close()
        await runtime.stop()


async def cleared(db: Database) -> int:
    return await db[COLLECTION].count_documents({"outbox_pending": False})


class Finds(monitoring.CommandListener):
    """The ids of the find commands sent to one collection."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.filters: list[Document] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command["find"] == self.collection:
            self.filters.append(event.command.get("filter", {}))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


async def test_an_insert_hands_its_events_over_and_a_later_write_has_them_read(
    make_settings: Callable[..., ServiceSettings],
    nats_client: NatsClient,
    namespace: str,
    servers: ServerUrls,
) -> None:
    """The events of an insert leave as it wrote them, without a read of the document; a
    document written again before the relay's pass is read, so its outbox leaves whole."""
    settings = make_settings(
        ServiceSettings, service_name="sessions", outbox_poll_seconds=60, outbox_sweep_seconds=60
    )
    runtime = ServiceRuntime(settings)  # NATS and the streams; its own relay relays nothing
    await runtime.start()
    finds = Finds(COLLECTION)
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        servers.mongodb_uri, tz_aware=True, event_listeners=[finds]
    )
    db = client[settings.database_name]
    try:
        relay = OutboxRelay(db, [COLLECTION], runtime.publisher)
        store = AggregateStore(db[COLLECTION], source="/sessions", pending=relay.pending)
        assert await relay.relay_once() == 0  # the start-up sweep: nothing left before
        finds.filters.clear()
        for n in range(3):
            await store.insert({"_id": f"a-{n}"}, [completed(f"a-{n}")])

        assert await relay.relay_once() == 3
        assert finds.filters == []  # nothing read back
        await wait_until(lambda: cleared(db), 3, timeout=5)
        assert await published(nats_client, namespace) == 3

        await store.insert({"_id": "a-9"}, [completed("a-9")])
        assert await store.update("a-9", 1, {}, [completed("a-9")]) == 2  # before the pass
        assert await relay.relay_once() == 2  # both, read from the document
        assert [f["_id"] for f in finds.filters] == [{"$in": ["a-9"]}]
        await wait_until(lambda: cleared(db), 4, timeout=5)
        assert await published(nats_client, namespace) == 5
    finally:
        await client.drop_database(db.name)
        await client.close()
        await runtime.stop()
