"""The outbox under real crashes: a relay process killed with SIGKILL before and after publishing.

Proves the foundation's promise: no event lost after its write committed, and each event's effect
applied exactly once by a consumer however often it is published.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from roundtable_dev.testing.servers import ServerUrls
from roundtable_shared.events.envelope import Envelope
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.messaging.streams import stream_name
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings
from roundtable_shared.storage.mongo import connect

pytestmark = pytest.mark.slow

WORKER = Path(__file__).parent / "support" / "relay_worker.py"
EVENTS = 30


def run_worker(servers: ServerUrls, namespace: str, *args: str, crash_at: str = "") -> int:
    env = {
        **os.environ,
        "WORKER_MONGODB_URI": servers.mongodb_uri,
        "WORKER_NATS_URL": servers.nats_url,
        "WORKER_NAMESPACE": namespace,
        "ROUNDTABLE_CRASH_AT": crash_at,
    }
    return subprocess.run([sys.executable, str(WORKER), *args], env=env, timeout=120).returncode


async def stored_events(nats_client: NatsClient, namespace: str) -> int:
    info = await nats_client.jetstream().stream_info(stream_name("sessions", namespace))
    return int(info.state.messages)


async def pending_outboxes(servers: ServerUrls, namespace: str) -> int:
    client = connect(servers.mongodb_uri, app_name="tests")
    try:
        database = client[f"{namespace.replace('.', '_')}roundtable_sessions"]
        return await database["demo_action_steps"].count_documents({"outbox_pending": True})
    finally:
        await client.close()


async def test_relay_killed_before_and_after_publish_loses_nothing_and_applies_once(
    servers: ServerUrls, namespace: str, nats_client: NatsClient, make_settings: object
) -> None:
    killed = -signal.SIGKILL
    # Killed after the writes committed, before anything was published.
    assert (
        run_worker(servers, namespace, "write", str(EVENTS), crash_at="outbox.before_publish")
        == killed
    )
    assert await stored_events(nats_client, namespace) == 0
    assert await pending_outboxes(servers, namespace) == EVENTS

    # Killed after the 10th publish, before the relay could clear those outboxes.
    assert run_worker(servers, namespace, "relay", crash_at="outbox.after_publish:10") == killed
    assert await stored_events(nats_client, namespace) >= 10
    assert await pending_outboxes(servers, namespace) == EVENTS

    # A healthy relay republishes the first 10 (dropped as duplicates by Nats-Msg-Id) and the rest.
    assert run_worker(servers, namespace, "relay") == 0
    assert await stored_events(nats_client, namespace) == EVENTS

    consumer_settings = make_settings(ServiceSettings, service_name="reporting")
    effects = await consume_all(consumer_settings, nats_client, namespace)
    assert sorted(effects) == [f"action-{n:03d}" for n in range(EVENTS)]
    assert set(effects.values()) == {1}


async def consume_all(
    settings: ServiceSettings, nats_client: NatsClient, namespace: str
) -> dict[str, int]:
    """Counts each event's effect with a plain $inc: only the consumer's inbox keeps it at one."""
    runtime = ServiceRuntime(settings)
    effects = runtime.db["effects"]

    async def count(envelope: Envelope, _: object) -> None:
        await effects.update_one({"_id": envelope.subject}, {"$inc": {"count": 1}}, upsert=True)

    runtime.add_consumer(
        EventConsumer(
            name="effect-counter",
            source_service="sessions",
            handlers={"roundtable.sessions.action.completed": count},
        )
    )
    await runtime.start()
    try:
        await wait_for(lambda: effects.count_documents({}), EVENTS)
        # Beyond JetStream's duplicate window: the same event again under another message id.
        await republish_first_event(nats_client, namespace)
        await asyncio.sleep(1.0)
        return {doc["_id"]: doc["count"] async for doc in effects.find({})}
    finally:
        await runtime.stop()


async def republish_first_event(nats_client: NatsClient, namespace: str) -> None:
    js = nats_client.jetstream()
    first = await js.get_msg(stream_name("sessions", namespace), seq=1)
    await js.publish(first.subject, first.data, headers={"Nats-Msg-Id": "another-id"})
    assert await stored_events(nats_client, namespace) == EVENTS + 1


async def wait_for(read: object, expected: int, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await read()  # type: ignore[operator]
        if value >= expected or asyncio.get_running_loop().time() > deadline:
            assert value == expected
            return
        await asyncio.sleep(0.1)
