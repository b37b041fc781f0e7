"""The relay publishes right after the write that filled an outbox, not on its next poll.

The poll interval is set far longer than the test may take: an event arriving at all proves the
write woke the relay. Real NATS, a real database, the runtime every service runs; the events
are watched on their subject as a consumer would see them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from prometheus_client import REGISTRY

from roundtable_shared.events.catalogue.sessions import ActionCompleted
from roundtable_shared.events.envelope import Envelope, subject_for
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

COLLECTION = "action_steps"
POLL_SECONDS = 60.0
"""Longer than the test: only a wake-up by the write can publish in time."""
PROMPT_SECONDS = 1.0
"""How soon after its write an event must be on NATS (a relay pass, not a poll)."""


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


async def started_runtime(make_settings: Callable[..., ServiceSettings]) -> ServiceRuntime:
    settings = make_settings(
        ServiceSettings,
        service_name="sessions",
        outbox_poll_seconds=POLL_SECONDS,
        outbox_sweep_seconds=POLL_SECONDS,
    )
    runtime = ServiceRuntime(settings, outbox_collections=[COLLECTION])
    await runtime.start()
    await asyncio.sleep(0.3)  # the start-up sweep has run and found nothing: the relay waits
    return runtime


def relay_delay(statistic: str) -> float:
    sample = REGISTRY.get_sample_value(
        f"roundtable_outbox_relay_delay_seconds_{statistic}", {"collection": COLLECTION}
    )
    return sample or 0.0


class Arrivals:
    """When each event (by subject, i.e. aggregate id and version) reached NATS."""

    def __init__(self) -> None:
        self.at: dict[tuple[str, int], float] = {}
        self.changed = asyncio.Event()

    async def on_message(self, message: Msg) -> None:
        envelope = Envelope.from_json(message.data)
        self.at.setdefault((envelope.subject, envelope.aggregateversion), time.monotonic())
        self.changed.set()

    async def wait_for(self, key: tuple[str, int], timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while key not in self.at:
            self.changed.clear()
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{key} not published within {timeout}s"
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                continue
        return self.at[key]


async def test_a_write_is_published_at_once_not_at_the_next_poll(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    arrivals = Arrivals()
    subject = subject_for("roundtable.sessions.action.completed", namespace)
    subscription = await nats_client.subscribe(subject, cb=arrivals.on_message)
    runtime = await started_runtime(make_settings)
    observed_before = relay_delay("count")
    try:
        store = runtime.aggregate_store(COLLECTION)
        lags: list[float] = []
        for n in range(5):
            written = time.monotonic()
            await store.insert({"_id": f"a-{n}"}, [completed(f"a-{n}")])
            lags.append(await arrivals.wait_for((f"a-{n}", 1), PROMPT_SECONDS) - written)
            # An update of a document whose first event just left: the same promptness.
            written = time.monotonic()
            assert await store.update(f"a-{n}", 1, {"$set": {"n": n}}, [completed(f"a-{n}")])
            lags.append(await arrivals.wait_for((f"a-{n}", 2), PROMPT_SECONDS) - written)
        assert max(lags) < PROMPT_SECONDS
        # The relay's own measure of the same delay, the one /metrics exports (taken once the
        # PubAck is back, a moment after a subscriber may have seen the event).
        deadline = time.monotonic() + PROMPT_SECONDS
        while relay_delay("count") - observed_before < len(lags):
            assert time.monotonic() < deadline, relay_delay("count") - observed_before
            await asyncio.sleep(0.01)
        assert relay_delay("count") - observed_before == len(lags)
    finally:
        await runtime.stop()
        await subscription.unsubscribe()


async def test_writes_during_a_relay_pass_leave_right_after_it(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    arrivals = Arrivals()
    subject = subject_for("roundtable.sessions.action.completed", namespace)
    subscription = await nats_client.subscribe(subject, cb=arrivals.on_message)
    runtime = await started_runtime(make_settings)
    try:
        store = runtime.aggregate_store(COLLECTION)
        # Many writers at once: some write while the relay is busy publishing the others'
        # events; theirs must leave on the pass after, without a poll in between.
        ids = [f"b-{n:03d}" for n in range(120)]  # more than one relay batch (50)
        started = time.monotonic()
        await asyncio.gather(*(store.insert({"_id": i}, [completed(i)]) for i in ids))
        for action_id in ids:
            await arrivals.wait_for((action_id, 1), PROMPT_SECONDS * 10)
        assert time.monotonic() - started < PROMPT_SECONDS * 10 < POLL_SECONDS
        # ...and their outboxes are cleared (just after publishing: wait for that write).
        pending = {"outbox_pending": True}
        deadline = time.monotonic() + PROMPT_SECONDS * 5
        while await runtime.db[COLLECTION].count_documents(pending):
            assert time.monotonic() < deadline, "outboxes not cleared after publishing"
            await asyncio.sleep(0.05)
    finally:
        await runtime.stop()
        await subscription.unsubscribe()
