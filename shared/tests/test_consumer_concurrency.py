"""A consumer applying several aggregates' events at once (``consumer_concurrency``), each
aggregate's in stream order. Real NATS, a real database, the runtime every service runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client as NatsClient

from roundtable_shared.events.catalogue.sessions import ActionCompleted
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

ACTION_COMPLETED = "roundtable.sessions.action.completed"
Handler = Callable[[Envelope, EventData], Awaitable[None]]


def completed(action_id: str, version: int) -> Envelope:
    data = ActionCompleted(
        action_id=action_id,
        session_id="s-1",
        group_id="g-1",
        program_id="p-1",
        owner_id="e-1",
        accountability_partner_id="e-2",
        completed_at=datetime.now(UTC),
    )
    return new_envelope(
        data, subject=action_id, aggregate_version=version, source="/roundtable/sessions"
    )


@pytest.fixture
async def consume(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> AsyncIterator[Callable[[Handler, list[Envelope]], Awaitable[None]]]:
    """Start a consumer with ``consumer_concurrency=4``, publish the envelopes in order, then
    let it fetch: they arrive in one batch, as a backlog does."""
    runtimes: list[ServiceRuntime] = []

    async def start(handler: Handler, envelopes: list[Envelope]) -> None:
        settings = make_settings(ServiceSettings, service_name="reporting", consumer_concurrency=4)
        runtime = ServiceRuntime(settings)
        fetching = asyncio.Event()
        runtime.add_consumer(
            EventConsumer(
                name="test-concurrent",
                source_service="sessions",
                handlers={ACTION_COMPLETED: handler},
                max_deliver=5,
                backoff_seconds=(0.05,),
                gate=fetching,
            )
        )
        js = nats_client.jetstream()
        await runtime.start()
        runtimes.append(runtime)
        for envelope in envelopes:
            await js.publish(
                f"{namespace}{ACTION_COMPLETED}",
                envelope.to_json(),
                headers={"Nats-Msg-Id": envelope.id},
            )
        fetching.set()

    yield start
    for runtime in runtimes:
        await runtime.stop()


async def eventually(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    return check()


async def test_a_slow_aggregate_does_not_hold_up_the_others(
    consume: Callable[[Handler, list[Envelope]], Awaitable[None]],
) -> None:
    applied: list[tuple[str, int]] = []
    others_applied = asyncio.Event()
    waited_for_others: list[bool] = []

    async def handle(envelope: Envelope, data: EventData) -> None:
        if (envelope.subject, envelope.aggregateversion) == ("a-1", 1):
            # Applied one after another, b-1 and c-1 would wait behind this event forever.
            try:
                await asyncio.wait_for(others_applied.wait(), 5.0)
                waited_for_others.append(True)
            except TimeoutError:
                waited_for_others.append(False)
        applied.append((envelope.subject, envelope.aggregateversion))
        if {("b-1", 1), ("c-1", 1)} <= set(applied):
            others_applied.set()

    await consume(
        handle, [completed("a-1", 1), completed("a-1", 2), completed("b-1", 1), completed("c-1", 1)]
    )
    assert await eventually(lambda: len(applied) == 4)
    assert waited_for_others == [True]
    assert [version for subject, version in applied if subject == "a-1"] == [1, 2]


async def test_a_failed_event_holds_back_only_its_own_aggregate(
    consume: Callable[[Handler, list[Envelope]], Awaitable[None]],
) -> None:
    applied: list[tuple[str, int]] = []
    failures = 0

    async def handle(envelope: Envelope, data: EventData) -> None:
        nonlocal failures
        if (envelope.subject, envelope.aggregateversion) == ("a-1", 1) and failures == 0:
            failures += 1
            raise RuntimeError("the database is away for a moment")
        applied.append((envelope.subject, envelope.aggregateversion))

    await consume(handle, [completed("a-1", 1), completed("a-1", 2), completed("b-1", 1)])
    assert await eventually(lambda: len(applied) == 3)
    assert failures == 1
    # a-1's second event waited for its first one's redelivery; b-1 did not wait for either.
    assert [version for subject, version in applied if subject == "a-1"] == [1, 2]
    assert applied.index(("b-1", 1)) < applied.index(("a-1", 1))
