"""Two reporting runtimes on one NATS and one database: only the holder of the writer lease
applies events, the other stands by and takes over when the holder stops; the read models end
exactly as a rebuild from the streams makes them (nothing lost, nothing counted twice)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

from nats.aio.client import Client as NatsClient

from reporting.app import build_app
from reporting.projections.lease import LEASE_ID, Hold
from reporting.projections.writer import ProjectionWriter
from reporting.rebuild import rebuild
from reporting.settings import ReportingSettings
from roundtable_dev.local.dev_issuer import DevIssuer
from roundtable_dev.testing.http import running_app
from roundtable_dev.testing.reporting.history import (
    PROGRAM,
    SPONSOR,
    known_history,
    reversed_with_repeats,
)
from roundtable_dev.testing.reporting.readmodels import contents
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.messaging.streams import PRODUCERS, durable_name, stream_name

LEASE = 1.5


async def until(check: Callable[[], bool], seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.02)


async def test_only_the_lease_holder_applies_and_a_standby_takes_over_when_it_stops(
    make_settings: Callable[..., ReportingSettings],
    nats_client: NatsClient,
    namespace: str,
    dev_issuer: DevIssuer,
) -> None:
    settings = make_settings(ReportingSettings, writer_lease_seconds=LEASE)
    history = reversed_with_repeats(known_history().events)
    half = len(history) // 2
    first, second = build_app(settings), build_app(settings)
    writers: list[ProjectionWriter] = [first.state.services.writer, second.state.services.writer]
    open_at_once: list[tuple[bool, bool]] = []

    async def watch() -> None:  # both gates, sampled: never open together
        while True:
            gates = (writers[0].gate.is_set(), writers[1].gate.is_set())
            if all(gates):
                open_at_once.append(gates)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    async with AsyncExitStack() as both, AsyncExitStack() as holder:
        await holder.enter_async_context(running_app(first))
        await until(writers[0].gate.is_set, LEASE)
        client = await both.enter_async_context(running_app(second))
        await asyncio.sleep(LEASE)  # a standby that tried to take the lease has done so by now
        assert (writers[0].hold.holding, writers[1].hold.holding) == (True, False)
        assert not writers[1].gate.is_set()
        db = first.state.runtime.db
        lease = await db["reporting_meta"].find_one({"_id": LEASE_ID})
        assert lease is not None and lease["holder"] == writers[0].holder

        w = World(first, nats_client, namespace, dev_issuer)
        await w.publish_all(history[:half])
        await w.settle()
        js = nats_client.jetstream()
        for producer in PRODUCERS:  # the standby fetched nothing: nothing came back
            info = await js.consumer_info(
                stream_name(producer, namespace),
                durable_name(f"reporting-{producer}", namespace),
            )
            assert info.num_redelivered == 0, producer
        assert not writers[1].gate.is_set()

        # The holder stops cleanly in the middle of the stream and gives the lease up.
        await w.publish_all(history[half:])
        await holder.aclose()
        await until(writers[1].gate.is_set, LEASE)  # the standby's next turn, at most
        lease = await second.state.runtime.db["reporting_meta"].find_one({"_id": LEASE_ID})
        assert lease is not None and lease["holder"] == writers[1].holder
        assert "released_at" in lease  # given up by the holder, not left to expire

        w = World(second, nats_client, namespace, dev_issuer)
        w.event_ids = {envelope.id for envelope, _ in history}
        await w.settle(seconds=60)
        applied = await contents(await second.state.services.generations.current())
        headers = w.headers(SPONSOR, ["sponsor"])
        summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
        assert summary.status_code == 200
        try:
            assert await rebuild(settings) == "g2"
            second.state.services.generations._cached = None
            assert await contents(await second.state.services.generations.current()) == applied
            again = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
            assert again.json() == summary.json()
        finally:
            watcher.cancel()
            await second.state.runtime.mongo.drop_database(settings.database_name)
    assert open_at_once == []


async def test_a_stopping_process_gives_up_a_lease_its_cancelled_take_won(
    make_settings: Callable[..., ReportingSettings],
) -> None:
    """A stop that cancels a take in flight may leave the take applied but unseen by the
    process; it gives the lease up all the same, so the next process does not wait for it to
    expire (a full lease: 15 s by default)."""
    settings = make_settings(ReportingSettings, writer_lease_seconds=60)
    app = build_app(settings)
    writer: ProjectionWriter = app.state.services.writer
    async with running_app(app):
        db = app.state.runtime.db
        try:
            await until(writer.gate.is_set, 5)
            writer.hold = Hold()  # the take's answer never reached the process
            await writer.stop()
            lease = await db["reporting_meta"].find_one({"_id": LEASE_ID})
            assert lease is not None and lease["holder"] is None
        finally:
            await app.state.runtime.mongo.drop_database(settings.database_name)
