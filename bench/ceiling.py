"""The ceiling benchmark: what raw nats-py JetStream and raw PyMongo reach on this machine.

Later pipeline benchmarks (outbox relay -> JetStream -> consumer -> read model) are held against
these figures: a pipeline cannot beat the raw client libraries it is built from, so the ceiling
tells how much of the available throughput the pipeline's own machinery costs.

Run: ``uv run python -m bench.ceiling [--events N] [--seconds S] [--json PATH]``.

It starts nats-server and the MongoDB-wire server (FerretDB on SQLite, or ``mongod``) in a
temporary folder, unless ``NATS_URL`` and ``MONGODB_URI`` name servers already running. Every
phase stops after ``--events`` operations or ``--seconds`` seconds, whichever comes first, and
reports the rate of what it did in the time it took. Traffic goes to 127.0.0.1 only.

Phases, each after a warm-up of every path:

a. JetStream publish of ~1 KB CloudEvents-like JSON, each with a ``Nats-Msg-Id`` and every PubAck
   awaited: in windows of ``--window`` concurrent publishes, and sequentially for reference;
b. JetStream consume of those events: durable pull consumer, explicit ack, batches of
   ``--fetch-batch``, each message parsed and acked;
c. publish and consume together: a consumer in a second process (as a separate service would be)
   consumes while this process publishes; end-to-end rate and publish-to-consume latency from a
   wall-clock timestamp in the payload;
d. PyMongo ``AsyncMongoClient`` counter upserts over ``--keys`` keys: sequential, with
   ``--concurrency`` in flight, and ``bulk_write`` of ``--bulk-batch`` ``UpdateOne`` upserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.errors import DuplicateKeyError

from roundtable_dev.local.servers import LocalServers
from roundtable_shared.messaging.streams import declare_stream, stream_config
from roundtable_shared.storage.mongo import Collection, Document, connect

PAYLOAD_TARGET_BYTES = 1024
FERRETDB_MAX_BULK = 50
"""FerretDB 1.24 (SQLite) deadlocks on an ``update`` command of 100+ statements on existing keys."""
SOURCE = "/roundtable/bench"
EVENT_TYPE = "roundtable.bench.counter.incremented"


# --------------------------------------------------------------------------------------------
# Configuration and results


@dataclass(frozen=True)
class Config:
    events: int
    seconds: float
    window: int
    fetch_batch: int
    keys: int
    concurrency: int
    bulk_batch: int
    warmup: int
    loop: str


@dataclass(frozen=True)
class Figure:
    key: str
    """Stable identifier, for later benchmarks to compare against."""
    name: str
    value: float
    unit: str
    count: int = 0
    """How many operations the figure was measured over (0 for derived figures)."""
    seconds: float = 0.0


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    machine: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", file=sys.stderr)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(f"  {figure.name}: {format_value(figure)} {figure.unit}", file=sys.stderr)

    def value(self, key: str) -> float:
        return next(f.value for f in self.figures if f.key == key)


def rate(key: str, name: str, count: int, seconds: float, unit: str) -> Figure:
    value = count / seconds if seconds > 0 else 0.0
    return Figure(key, name, value, unit, count, seconds)


def format_value(figure: Figure) -> str:
    if figure.unit == "ms":
        return f"{figure.value:,.2f}"
    return f"{figure.value:,.0f}"


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # ceil without math
    return sorted_values[min(rank, len(sorted_values)) - 1]


# --------------------------------------------------------------------------------------------
# Events


class EventFactory:
    """CloudEvents-structured JSON of about ``PAYLOAD_TARGET_BYTES``, with a send timestamp."""

    def __init__(self, run_id: str, keys: int) -> None:
        self.run_id = run_id
        self.keys = keys
        self.trace_id = uuid.uuid4().hex
        self.padding = ""
        sample = len(self.make(0))
        self.padding = "x" * max(0, PAYLOAD_TARGET_BYTES - sample)

    def event_id(self, seq: int) -> str:
        return f"{self.run_id}-{seq:09d}"

    def make(self, seq: int) -> bytes:
        event = {
            "specversion": "1.0",
            "id": self.event_id(seq),
            "source": SOURCE,
            "type": EVENT_TYPE,
            "time": datetime.now(UTC).isoformat(),
            "subject": f"employee-{seq % self.keys:05d}",
            "datacontenttype": "application/json",
            "traceparent": f"00-{self.trace_id}-{seq:016x}-01",
            "aggregateversion": seq // self.keys + 1,
            "schemaversion": 1,
            "data": {
                "sent_ns": time.time_ns(),
                "program_id": "program-00042",
                "session_id": f"session-{seq:09d}",
                "minutes": 30,
                "rating": 5,
                "notes": self.padding,
            },
        }
        return json.dumps(event, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------
# JetStream


@dataclass(frozen=True)
class StreamTarget:
    stream: str
    subject: str
    filter_subject: str


async def make_stream(js: JetStreamContext, namespace: str, service: str) -> StreamTarget:
    """A stream configured as the services' own (file storage, duplicate window)."""
    config = stream_config(service, namespace)
    await declare_stream(js, config)
    assert config.name is not None
    assert config.subjects
    return StreamTarget(config.name, f"{namespace}roundtable.{service}.counter", config.subjects[0])


class Publisher:
    def __init__(self, js: JetStreamContext, target: StreamTarget, events: EventFactory) -> None:
        self.js = js
        self.target = target
        self.events = events
        self.next_seq = 0
        self.duplicates = 0

    async def publish_one(self, seq: int) -> None:
        payload = self.events.make(seq)  # built when sent, so the timestamp is the send time
        ack = await self.js.publish(
            self.target.subject, payload, headers={"Nats-Msg-Id": self.events.event_id(seq)}
        )
        if ack.duplicate:
            self.duplicates += 1

    async def windowed(self, count: int, window: int, deadline: float) -> int:
        """Publish up to ``count`` events, ``window`` at a time, every PubAck awaited."""
        done = 0
        while done < count and time.perf_counter() < deadline:
            n = min(window, count - done)
            start = self.next_seq
            self.next_seq += n
            await asyncio.gather(*(self.publish_one(seq) for seq in range(start, start + n)))
            done += n
        return done

    async def sequential(self, count: int, deadline: float) -> int:
        done = 0
        while done < count and time.perf_counter() < deadline:
            seq = self.next_seq
            self.next_seq += 1
            await self.publish_one(seq)
            done += 1
        return done


async def pull_consumer(
    js: JetStreamContext, target: StreamTarget, durable: str
) -> JetStreamContext.PullSubscription:
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=60,
        max_ack_pending=10_000,
    )
    return await js.pull_subscribe(
        target.filter_subject, durable=durable, stream=target.stream, config=config
    )


async def consume(
    sub: JetStreamContext.PullSubscription,
    batch: int,
    expected: Callable[[], int | None],
    deadline: float,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Fetch, parse and ack until ``expected()`` events arrived or the deadline passes."""
    received = 0
    while time.perf_counter() < deadline:
        target = expected()
        if target is not None and received >= target:
            break
        try:
            msgs = await sub.fetch(
                batch, timeout=min(1.0, max(0.05, deadline - time.perf_counter()))
            )
        except (NatsTimeoutError, TimeoutError):
            continue
        for msg in msgs:
            event = json.loads(msg.data)
            if on_event is not None:
                on_event(event)
            await msg.ack()
        received += len(msgs)
    return received


# --------------------------------------------------------------------------------------------
# Phase c: the consumer process


def consumer_process(
    nats_url: str,
    target: StreamTarget,
    durable: str,
    batch: int,
    seconds: float,
    loop: str,
    conn: Connection,
) -> None:
    """Entry point of the second process: reports ready, consumes, sends back its timings."""
    install_loop(loop)
    result = asyncio.run(_consume_in_child(nats_url, target, durable, batch, seconds, conn))
    conn.send(result)
    conn.close()


async def _consume_in_child(
    nats_url: str, target: StreamTarget, durable: str, batch: int, seconds: float, conn: Connection
) -> dict[str, Any]:
    nc = await nats.connect(nats_url, name="bench-ceiling-consumer")
    try:
        js = nc.jetstream()
        sub = await pull_consumer(js, target, durable)
        conn.send("ready")
        latencies_ns: list[int] = []
        first_ns = 0
        last_ns = 0
        expected: int | None = None

        def on_event(event: dict[str, Any]) -> None:
            nonlocal first_ns, last_ns
            now = time.time_ns()
            first_ns = first_ns or now
            last_ns = now
            latencies_ns.append(now - int(event["data"]["sent_ns"]))

        def expected_count() -> int | None:
            nonlocal expected
            if expected is None and conn.poll():
                expected = int(conn.recv())  # the producer's final count, once it is done
            return expected

        # Bounded: the producer has ``seconds`` to publish, the consumer as long again to finish.
        deadline = time.perf_counter() + 2 * seconds + 5
        received = await consume(sub, batch, expected_count, deadline, on_event)
        await nc.flush()
        return {
            "received": received,
            "first_ns": first_ns,
            "last_ns": last_ns,
            "latencies_ns": latencies_ns,
        }
    finally:
        await nc.close()


# --------------------------------------------------------------------------------------------
# MongoDB


def counter_key(index: int) -> str:
    return f"employee-{index:05d}"


def counter_update(seq: int, rng: random.Random, keys: int) -> tuple[Document, Document]:
    """A read model's counter upsert: one key of ``keys``, increments and last-seen fields."""
    key = counter_key(rng.randrange(keys))
    update = {
        "$inc": {"events": 1, "minutes": 30, "rating_total": 5},
        "$set": {"last_event_id": f"event-{seq:09d}", "updated_at": datetime.now(UTC)},
    }
    return {"_id": key}, update


async def upsert(collection: Collection, filter_: Document, update: Document) -> None:
    for attempt in range(3):
        try:
            await collection.update_one(filter_, update, upsert=True)
            return
        except DuplicateKeyError:
            # Two concurrent upserts of a new key: one inserted, the other retries as an update.
            if attempt == 2:
                raise


async def counted(collection: Collection) -> int:
    """The sum of every counter's ``events``: how many increments the server kept."""
    pipeline = [{"$group": {"_id": None, "events": {"$sum": "$events"}}}]
    rows = [row async for row in await collection.aggregate(pipeline)]
    return int(rows[0]["events"]) if rows else 0


async def upserts_sequential(
    collection: Collection, count: int, keys: int, deadline: float, rng: random.Random
) -> int:
    done = 0
    while done < count and time.perf_counter() < deadline:
        await upsert(collection, *counter_update(done, rng, keys))
        done += 1
    return done


async def upserts_concurrent(
    collection: Collection,
    count: int,
    keys: int,
    concurrency: int,
    deadline: float,
    rng: random.Random,
) -> int:
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < count and time.perf_counter() < deadline:
            seq = issued
            issued += 1
            await upsert(collection, *counter_update(seq, rng, keys))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return issued


async def upserts_bulk(
    collection: Collection, count: int, keys: int, batch: int, deadline: float, rng: random.Random
) -> int:
    done = 0
    while done < count and time.perf_counter() < deadline:
        n = min(batch, count - done)
        requests = [UpdateOne(*counter_update(done + i, rng, keys), upsert=True) for i in range(n)]
        await collection.bulk_write(requests, ordered=True)
        done += n
    return done


# --------------------------------------------------------------------------------------------
# The benchmark


async def timed(work: Awaitable[int]) -> tuple[int, float]:
    start = time.perf_counter()
    count = await work
    return count, time.perf_counter() - start


def phase(name: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {name}", file=sys.stderr)


async def run_nats(config: Config, nats_url: str, report: Report) -> None:
    namespace = f"bench{uuid.uuid4().hex[:8]}."
    events = EventFactory(namespace.rstrip("."), config.keys)
    nc = await nats.connect(nats_url, name="bench-ceiling")
    js = nc.jetstream(timeout=30)
    targets: list[StreamTarget] = []
    try:
        report.machine["nats-server"] = str(nc._server_info.get("version", "?"))
        report.machine["event size"] = f"{len(events.make(0))} bytes of JSON"

        phase("warm-up: JetStream")
        warm = await make_stream(js, namespace, "warmup")
        targets.append(warm)
        warm_pub = Publisher(js, warm, events)
        far = time.perf_counter() + config.seconds
        await warm_pub.windowed(config.warmup, config.window, far)
        await warm_pub.sequential(max(1, config.warmup // 10), far)
        warm_sub = await pull_consumer(js, warm, "warmup")
        await consume(warm_sub, config.fetch_batch, lambda: warm_pub.next_seq, far)

        phase("a. JetStream publish, windowed")
        pub_target = await make_stream(js, namespace, "ceiling")
        targets.append(pub_target)
        pub = Publisher(js, pub_target, events)
        pub.next_seq = warm_pub.next_seq  # ids stay unique across streams
        deadline = time.perf_counter() + config.seconds
        published, elapsed = await timed(pub.windowed(config.events, config.window, deadline))
        report.add(
            rate(
                "publish_windowed",
                f"JetStream publish, {config.window} in flight, PubAck each",
                published,
                elapsed,
                "events/s",
            )
        )

        phase("a. JetStream publish, sequential")
        seq_target = await make_stream(js, namespace, "sequential")
        targets.append(seq_target)
        seq_pub = Publisher(js, seq_target, events)
        seq_pub.next_seq = pub.next_seq
        deadline = time.perf_counter() + config.seconds
        count, elapsed = await timed(seq_pub.sequential(config.events, deadline))
        report.add(
            rate(
                "publish_sequential",
                "JetStream publish, sequential (1 in flight)",
                count,
                elapsed,
                "events/s",
            )
        )

        phase("b. JetStream consume")
        sub = await pull_consumer(js, pub_target, "ceiling")
        deadline = time.perf_counter() + config.seconds

        async def consume_all() -> int:
            received = await consume(sub, config.fetch_batch, lambda: published, deadline)
            await nc.flush()  # the acks are on the wire
            return received

        received, elapsed = await timed(consume_all())
        if received != published:
            report.note(f"consume: {received:,} of {published:,} events arrived in time")
        report.add(
            rate(
                "consume",
                f"JetStream consume, pull batches of {config.fetch_batch}, ack each",
                received,
                elapsed,
                "events/s",
            )
        )

        phase("c. publish and consume together (consumer in a second process)")
        both = await make_stream(js, namespace, "pipeline")
        targets.append(both)
        both_pub = Publisher(js, both, events)
        both_pub.next_seq = seq_pub.next_seq
        await publish_and_consume(config, nats_url, both, both_pub, report)

        duplicates = warm_pub.duplicates + pub.duplicates + seq_pub.duplicates
        duplicates += both_pub.duplicates
        if duplicates:
            raise RuntimeError(f"{duplicates} PubAcks reported duplicates: ids are not unique")
        info = await js.stream_info(pub_target.stream)
        if info.state.messages != published:
            raise RuntimeError(f"stream holds {info.state.messages}, published {published}")
    finally:
        for target in targets:
            with contextlib.suppress(Exception):
                await js.delete_stream(target.stream)
        await nc.close()


async def publish_and_consume(
    config: Config, nats_url: str, target: StreamTarget, pub: Publisher, report: Report
) -> None:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=consumer_process,
        args=(nats_url, target, "pipeline", config.fetch_batch, config.seconds, config.loop, child),
        name="bench-ceiling-consumer",
    )
    process.start()
    child.close()
    loop = asyncio.get_running_loop()
    try:
        ready = await loop.run_in_executor(None, wait_message, parent, 60.0)
        if ready != "ready":
            raise RuntimeError(f"consumer process said {ready!r}")
        start_ns = time.time_ns()
        deadline = time.perf_counter() + config.seconds
        published, publish_elapsed = await timed(
            pub.windowed(config.events, config.window, deadline)
        )
        parent.send(published)
        result = await loop.run_in_executor(None, wait_message, parent, 2 * config.seconds + 30.0)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()
    received = int(result["received"])
    if received != published:
        report.note(f"publish and consume: {received:,} of {published:,} events arrived in time")
    end_to_end = (int(result["last_ns"]) - start_ns) / 1e9
    latencies_ms = sorted(ns / 1e6 for ns in result["latencies_ns"])
    report.add(
        rate(
            "pubsub_end_to_end",
            "Publish and consume together, end to end",
            received,
            end_to_end,
            "events/s",
        )
    )
    report.add(
        rate(
            "pubsub_publish",
            "Publish and consume together, publish side",
            published,
            publish_elapsed,
            "events/s",
        )
    )
    for key, label, fraction in (("p50", "p50", 0.50), ("p99", "p99", 0.99)):
        report.add(
            Figure(
                f"pubsub_latency_{key}",
                f"Publish-to-consume latency, {label}",
                percentile(latencies_ms, fraction),
                "ms",
                len(latencies_ms),
                end_to_end,
            )
        )


def wait_message(conn: Connection, timeout: float) -> Any:
    if not conn.poll(timeout):
        raise TimeoutError(f"no word from the consumer process in {timeout}s")
    return conn.recv()


async def run_mongo(config: Config, mongodb_uri: str, report: Report) -> None:
    client: AsyncMongoClient[Document] = connect(mongodb_uri, app_name="bench-ceiling")
    database = f"bench_ceiling_{uuid.uuid4().hex[:8]}"
    rng = random.Random(42)
    try:
        info = await client.admin.command("buildInfo")
        bulk_batch = config.bulk_batch
        if "ferretdbVersion" in info:
            kind = f"FerretDB {info['ferretdbVersion']} (reports MongoDB {info.get('version')})"
            report.machine["mongodb-wire server"] = kind
            if bulk_batch > FERRETDB_MAX_BULK:
                bulk_batch = FERRETDB_MAX_BULK
                report.note(
                    f"bulk_write batches of {config.bulk_batch} asked, {bulk_batch} used: FerretDB "
                    "1.24 on SQLite hangs on an update command of 100 or more statements that "
                    "match existing documents (it keeps one of its 100 pooled SQLite connections "
                    "open per statement until the command ends)."
                )
        else:
            report.machine["mongodb-wire server"] = f"MongoDB {info.get('version', '?')}"
        collection = client[database]["counters"]

        phase("warm-up: MongoDB")
        # Every key exists before measuring: the phases measure a read model in steady state.
        keys = [{"_id": counter_key(key), "events": 0} for key in range(config.keys)]
        for start in range(0, len(keys), 1_000):
            await collection.insert_many(keys[start : start + 1_000])
        far = time.perf_counter() + config.seconds
        warm = max(1, config.warmup // 10)
        await upserts_sequential(collection, warm, config.keys, far, rng)
        await upserts_concurrent(collection, warm, config.keys, config.concurrency, far, rng)
        await upserts_bulk(collection, warm, config.keys, bulk_batch, far, rng)

        keys_label = f"{config.keys:,} keys"
        phases: list[tuple[str, str, Callable[[float], Awaitable[int]]]] = [
            (
                "upsert_sequential",
                f"Mongo upsert ($inc+$set) over {keys_label}, sequential",
                lambda deadline: upserts_sequential(
                    collection, config.events, config.keys, deadline, rng
                ),
            ),
            (
                "upsert_concurrent",
                f"Mongo upsert over {keys_label}, {config.concurrency} in flight",
                lambda deadline: upserts_concurrent(
                    collection, config.events, config.keys, config.concurrency, deadline, rng
                ),
            ),
            (
                "upsert_bulk",
                f"Mongo bulk_write, batches of {bulk_batch} UpdateOne upserts",
                lambda deadline: upserts_bulk(
                    collection, config.events, config.keys, bulk_batch, deadline, rng
                ),
            ),
        ]
        for key, name, work in phases:
            phase(f"d. {name}")
            before = await counted(collection)
            count, elapsed = await timed(work(time.perf_counter() + config.seconds))
            report.add(rate(key, name, count, elapsed, "upserts/s"))
            lost = count - (await counted(collection) - before)
            if lost:
                report.note(
                    f"{name}: {lost:,} of {count:,} $inc increments lost. The server does not "
                    "apply concurrent updates of one document atomically (FerretDB 1.24 on SQLite "
                    "reads, then writes); MongoDB loses none."
                )

        if await collection.count_documents({}) != config.keys:
            raise RuntimeError("the counters collection does not hold one document per key")
    finally:
        with contextlib.suppress(Exception):
            await client.drop_database(database)
        await client.close()


def add_derived(report: Report) -> None:
    """Per-event costs added: the rate if each event is published, consumed and upserted."""
    pubsub = report.value("pubsub_end_to_end")
    for key, label in (("upsert_concurrent", "concurrent"), ("upsert_bulk", "bulk")):
        upserts = report.value(key)
        combined = 1 / (1 / pubsub + 1 / upserts) if pubsub > 0 and upserts > 0 else 0.0
        report.add(
            Figure(
                f"derived_pubsub_plus_{key}",
                f"Derived: publish-and-consume plus {label} upsert, per-event costs added",
                combined,
                "events/s",
            )
        )


# --------------------------------------------------------------------------------------------
# Machine and output


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def machine_info(config: Config) -> dict[str, str]:
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu_model(),
        "memory": memory(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "event loop": config.loop,
        "nats-py": importlib.metadata.version("nats-py"),
        "pymongo": importlib.metadata.version("pymongo"),
    }


def markdown(report: Report, config: Config, date: str) -> str:
    lines = ["| Figure | Value | Unit |", "| --- | ---: | --- |"]
    lines += [f"| {f.name} | {format_value(f)} | {f.unit} |" for f in report.figures]
    lines += ["", f"Measured {date}.", ""]
    lines += [f"- **{name}**: {value}" for name, value in report.machine.items()]
    settings = ", ".join(f"{name}={value}" for name, value in asdict(config).items())
    lines += ["", f"Settings: {settings}."]
    lines += [f"\nNote: {text}" for text in report.notes]
    return "\n".join(lines)


def install_loop(loop: str) -> None:
    if loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def resolve_loop(choice: str) -> str:
    if choice != "auto":
        return choice
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"  # as uvicorn's loop="auto" does for the services


@contextlib.contextmanager
def servers() -> Iterator[LocalServers]:
    with (
        tempfile.TemporaryDirectory(prefix="roundtable-bench-") as tmp,
        LocalServers(Path(tmp), nats_namespace=None) as local,  # a namespace per run
    ):
        yield local


async def main_async(config: Config, local: LocalServers, report: Report) -> None:
    nats_from = "NATS_URL" if local.nats.managed is None else "nats-server -js, file store"
    mongo_from = {"": "MONGODB_URI", "ferretdb": "FerretDB on SQLite"}.get(
        local.mongo.kind, local.mongo.kind
    )
    started = local.nats.managed is not None or local.mongo.managed is not None
    where = " (started in a temporary folder)" if started else ""
    report.machine["servers"] = f"{nats_from}; {mongo_from}{where}"
    await run_nats(config, local.nats_url, report)
    await run_mongo(config, local.mongodb_uri, report)
    add_derived(report)


def parse_args(argv: Sequence[str] | None) -> tuple[Config, Path | None]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ceiling", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--events", type=int, default=50_000, help="operations per phase")
    parser.add_argument("--seconds", type=float, default=12.0, help="time cap per phase")
    parser.add_argument("--window", type=int, default=256, help="publishes in flight")
    parser.add_argument("--fetch-batch", type=int, default=256, help="pull consumer batch")
    parser.add_argument("--keys", type=int, default=1_000, help="distinct read-model keys")
    parser.add_argument("--concurrency", type=int, default=16, help="upserts in flight")
    parser.add_argument("--bulk-batch", type=int, default=500, help="upserts per bulk_write")
    parser.add_argument("--warmup", type=int, default=2_000, help="events in the warm-up")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    for name in ("events", "seconds", "window", "fetch_batch", "keys", "concurrency"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.bulk_batch <= 0 or args.warmup < 0:
        parser.error("--bulk-batch must be positive and --warmup not negative")
    config = Config(
        events=args.events,
        seconds=args.seconds,
        window=args.window,
        fetch_batch=args.fetch_batch,
        keys=args.keys,
        concurrency=args.concurrency,
        bulk_batch=args.bulk_batch,
        warmup=args.warmup,
        loop=resolve_loop(args.loop),
    )
    return config, args.json


def run_loop(config: Config, coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    install_loop(config.loop)
    asyncio.run(coro())


def main(argv: Sequence[str] | None = None) -> int:
    config, json_path = parse_args(argv)
    report = Report()
    report.machine.update(machine_info(config))
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()
    with servers() as local:
        run_loop(config, lambda: main_async(config, local, report))
    total = time.perf_counter() - started
    print(f"done in {total:.0f}s", file=sys.stderr)
    print(markdown(report, config, date))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "benchmark": "ceiling",
            "date": date,
            "machine": report.machine,
            "config": asdict(config),
            "command": "uv run python -m bench.ceiling " + " ".join(sys.argv[1:]),
            "figures": {f.key: asdict(f) for f in report.figures},
            "notes": report.notes,
        }
        json_path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"figures written to {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
