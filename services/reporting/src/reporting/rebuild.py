"""Replay the streams into fresh read models, then swap them in.

A running service rebuilds through its admin API (``POST /v1/admin/rebuilds``, which runs
``rebuild_into`` inside the service, sharing its connection and write lock with the consumers);
``python -m reporting.rebuild`` does the same for a stopped service.

The next generation (``g<n+1>``) is filled from each producer's stream from its first event,
through the projections' own batch code, while the service keeps answering from the live one.
Once every stream is replayed to the end it had when the rebuild started, the new generation
becomes the live one (``Generations.swap``: readers and the live consumers switch within their
one-second cache). The replay then goes on to the streams' end again, for at least that long:
events the live consumers applied to the old generation meanwhile reach the new one too (facts
count once through their effect markers, and copies and reconciled counts are idempotent, so an
event applied both by the replay and by a live consumer counts once). Then the collections of
every other generation (the one replaced, any a failed rebuild left) are dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import nats
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from reporting.projections.batch import forget
from reporting.projections.generations import Generations
from reporting.projections.handlers import HANDLERS, apply_batch
from reporting.projections.readmodel import NAMES, ReadModels, generation_indexes
from reporting.rebuilds.domain import Phase, RebuildProgress, StreamProgress
from reporting.settings import ReportingSettings
from roundtable_shared.events.envelope import Envelope, EventData, InvalidEvent
from roundtable_shared.events.registry import parse_data
from roundtable_shared.events.sealing import KeyRing
from roundtable_shared.messaging.connection import connect_options
from roundtable_shared.messaging.streams import (
    PRODUCERS,
    durable_name,
    service_subjects,
    stream_name,
)
from roundtable_shared.storage.mongo import apply_indexes, connect

log = structlog.get_logger(__name__)
TYPES = {kind.event_type for kind in HANDLERS}


async def _events(batch: Sequence[Msg], keys: KeyRing) -> list[tuple[Envelope, EventData]]:
    opened = await asyncio.gather(*(_event(raw, keys) for raw in batch))
    return [event for event in opened if event is not None]


async def _event(raw: Msg, keys: KeyRing) -> tuple[Envelope, EventData] | None:
    try:
        envelope = Envelope.from_json(raw.data)
        if envelope.type not in TYPES:
            return None
        # An erased person's sealed fields open as None, as the live consumer sees them.
        envelope = await keys.open(envelope)
        return envelope, parse_data(envelope)
    except InvalidEvent:
        return None  # the live consumer dead-lettered it; it changed nothing there either


class _Drain:
    """One producer's replay: set ``caught_up`` once drained; stops when drained past ``stop_at``."""

    def __init__(self) -> None:
        self.caught_up = asyncio.Event()
        self.stop_at: float | None = None


async def _replay(
    js: JetStreamContext,
    models: ReadModels,
    producer: str,
    namespace: str,
    drain: _Drain,
    stream_progress: StreamProgress,
    keys: KeyRing,
) -> int:
    """Apply the producer's stream to ``models`` from its start (see ``_Drain``)."""
    durable = durable_name(f"reporting-rebuild-{models.generation}-{producer}", namespace)
    stream = stream_name(producer, namespace)
    subscription = await js.pull_subscribe(
        service_subjects(producer, namespace),
        durable=durable,
        stream=stream,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL),
    )
    applied = 0
    try:
        while True:
            try:
                batch = await subscription.fetch(50, timeout=0.5)
            except TimeoutError:
                batch = []
            if not batch:  # drained, for now
                drain.caught_up.set()
                if drain.stop_at is not None and time.monotonic() >= drain.stop_at:
                    return applied
                continue
            events = await _events(batch, keys)
            await apply_batch(models, events)
            applied += len(events)
            stream_progress.events_applied = applied
            stream_progress.position = max(
                stream_progress.position, batch[-1].metadata.sequence.stream
            )
            for raw in batch:
                await raw.ack()
    finally:
        await subscription.unsubscribe()
        await js.delete_consumer(stream, durable)


async def start_progress(
    js: JetStreamContext, generations: Generations, namespace: str
) -> RebuildProgress:
    """What a rebuild starting now will do: the generation it fills, the streams' ends."""
    live = (await generations.current()).generation
    streams = {}
    for producer in PRODUCERS:
        info = await js.stream_info(stream_name(producer, namespace))
        streams[producer] = StreamProgress(end_at_start=info.state.last_seq)
    return RebuildProgress(
        rebuild_id=await generations.next_name(),
        phase=Phase.REPLAYING,
        started_at=datetime.now(UTC),
        replaced_generation=live,
        streams=streams,
    )


async def rebuild_into(
    js: JetStreamContext,
    generations: Generations,
    namespace: str,
    progress: RebuildProgress,
    keys: KeyRing,
    *,
    cache_seconds: float = 1.0,
) -> None:
    """Fill ``progress.rebuild_id`` from the streams and swap it in, recording how far it got.

    ``cache_seconds`` is how long readers and live consumers may keep using the old generation.
    """
    try:
        db = generations.db
        target = progress.rebuild_id
        for name in NAMES:  # fresh, even if an earlier rebuild stopped half-way
            await db.drop_collection(f"{target}_{name}")
        await apply_indexes(db, generation_indexes(target))
        models = generations.models(target)
        forget(models)  # copies this process may hold from such an earlier rebuild
        log.info("rebuild: replaying the streams", generation=target)
        drains = {p: _Drain() for p in PRODUCERS}
        tasks = [
            asyncio.create_task(
                _replay(js, models, p, namespace, drains[p], progress.streams[p], keys)
            )
            for p in PRODUCERS
        ]
        caught_up = [asyncio.create_task(drains[p].caught_up.wait()) for p in PRODUCERS]
        try:
            while not all(t.done() for t in caught_up):
                await asyncio.wait([*tasks, *caught_up], return_when=asyncio.FIRST_COMPLETED)
                for task in tasks:
                    if task.done():
                        task.result()  # a replay that failed fails the rebuild, before any swap
            await generations.swap(target)
            progress.phase = Phase.SWAPPED
            log.info("rebuild: swapped in", generation=target)
            # Go on until the live consumers surely switched: what they applied to the old
            # generation meanwhile reaches the new one.
            stop_at = time.monotonic() + 2 * cache_seconds + 1
            for p in PRODUCERS:
                drains[p].stop_at = stop_at
            counts = await asyncio.gather(*tasks)
        finally:
            for task in [*tasks, *caught_up]:
                task.cancel()
            await asyncio.gather(*tasks, *caught_up, return_exceptions=True)
        # Nothing reads or writes the old generation any more: the readers and live consumers
        # switched during the last replay.
        progress.pruned_generations = await generations.prune(keep=target)
        progress.phase = Phase.DONE
        progress.finished_at = datetime.now(UTC)
        log.info("rebuild: done", generation=target, events=sum(counts))
    except Exception as exc:
        progress.phase = Phase.FAILED
        progress.error = f"{type(exc).__name__}: {exc}"
        progress.finished_at = datetime.now(UTC)
        log.exception("rebuild: failed", generation=progress.rebuild_id)
        raise


async def rebuild(settings: ReportingSettings, *, cache_seconds: float = 1.0) -> str:
    """Fill the next generation from the streams, swap it in; its name.

    For a stopped service (its own connections); a running one rebuilds through its admin API
    (``POST /v1/admin/rebuilds``), which shares the service's connection and write lock.
    """
    client = connect(settings.mongodb_uri, app_name=f"{settings.service_name}-rebuild")
    connection = await nats.connect(**connect_options(settings))
    try:
        generations = Generations(client[settings.database_name], cache_seconds=0)
        js = connection.jetstream()
        keys = KeyRing(settings.service_name, settings.namespace, settings.stream_replicas)
        await keys.bind(js, PRODUCERS)
        progress = await start_progress(js, generations, settings.namespace)
        await rebuild_into(
            js, generations, settings.namespace, progress, keys, cache_seconds=cache_seconds
        )
        return progress.rebuild_id
    finally:
        await connection.close()
        await client.close()


def main() -> None:
    generation = asyncio.run(rebuild(ReportingSettings()))
    print(f"rebuilt and swapped in read models generation {generation}")


if __name__ == "__main__":
    main()
