"""Durable consumers against real NATS and a real database: dead letters, retries, idempotency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from roundtable_shared.events.catalogue.sessions import ActionCompleted
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope
from roundtable_shared.messaging.consumer import EventConsumer
from roundtable_shared.messaging.streams import dead_letter_stream, durable_name, stream_name
from roundtable_shared.runtime import ServiceRuntime
from roundtable_shared.settings import ServiceSettings

ACTION_COMPLETED = "roundtable.sessions.action.completed"
Handler = Callable[[Envelope, EventData], Awaitable[None]]


def action_completed(action_id: str) -> Envelope:
    data = ActionCompleted(
        action_id=action_id,
        session_id="s-1",
        group_id="g-1",
        program_id="p-1",
        owner_id="e-1",
        accountability_partner_id="e-2",
        completed_at=datetime.now(UTC),
    )
    return new_envelope(data, subject=action_id, aggregate_version=1, source="/roundtable/sessions")


class Harness:
    def __init__(self, runtime: ServiceRuntime, nats_client: NatsClient, namespace: str) -> None:
        self.runtime = runtime
        self.js = nats_client.jetstream()
        self.namespace = namespace

    async def publish_raw(
        self, body: bytes, msg_id: str, event_type: str = ACTION_COMPLETED
    ) -> None:
        await self.js.publish(
            f"{self.namespace}{event_type}", body, headers={"Nats-Msg-Id": msg_id}
        )

    async def dead_letters(self) -> list[tuple[bytes, dict[str, str]]]:
        stream = dead_letter_stream(self.namespace)
        count = (await self.js.stream_info(stream)).state.messages
        found = [await self.js.get_msg(stream, seq=n + 1) for n in range(count)]
        return [(m.data or b"", dict(m.headers or {})) for m in found]


@pytest.fixture
async def start_consumer(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> AsyncIterator[Callable[[Handler], Awaitable[Harness]]]:
    runtimes: list[ServiceRuntime] = []

    async def start(handler: Handler) -> Harness:
        runtime = ServiceRuntime(make_settings(ServiceSettings, service_name="reporting"))
        runtime.add_consumer(
            EventConsumer(
                name="test-consumer",
                source_service="sessions",
                handlers={ACTION_COMPLETED: handler},
                max_deliver=3,
                backoff_seconds=(0.05,),
            )
        )
        await runtime.start()
        runtimes.append(runtime)
        return Harness(runtime, nats_client, namespace)

    yield start
    for runtime in runtimes:
        await runtime.stop()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


async def test_malformed_events_go_to_the_dead_letter_stream_and_the_stream_moves_on(
    start_consumer: Callable[[Handler], Awaitable[Harness]],
) -> None:
    applied: list[str] = []

    async def handle(envelope: Envelope, data: EventData) -> None:
        applied.append(envelope.subject)

    harness = await start_consumer(handle)
    not_json = b"{not json"
    wrong_data = action_completed("a-2").model_copy(update={"data": {"action_id": 7}}).to_json()
    await harness.publish_raw(not_json, "bad-1")
    await harness.publish_raw(wrong_data, "bad-2")
    await harness.publish_raw(action_completed("a-3").to_json(), "good-3")

    assert await eventually(lambda: _async(applied == ["a-3"]))
    letters = await eventually(lambda: _dead_letters_when(harness, 2))
    assert [body for body, _ in letters] == [not_json, wrong_data]
    reasons = [headers["Roundtable-Dead-Letter-Reason"] for _, headers in letters]
    assert reasons[0].startswith("invalid event")
    assert "data." in reasons[1]


async def test_a_failing_handler_is_retried_then_dead_lettered_after_max_deliver(
    start_consumer: Callable[[Handler], Awaitable[Harness]],
) -> None:
    attempts: list[int] = []

    async def always_fails(envelope: Envelope, data: EventData) -> None:
        attempts.append(1)
        raise RuntimeError("database says no")

    harness = await start_consumer(always_fails)
    await harness.publish_raw(action_completed("a-1").to_json(), "e-1")

    letters = await eventually(lambda: _dead_letters_when(harness, 1))
    assert len(letters) == 1
    assert letters[0][1]["Roundtable-Deliveries"] == "3"
    # The exception's type, not its message: a message may carry the event's personal data.
    reason = letters[0][1]["Roundtable-Dead-Letter-Reason"]
    assert "RuntimeError" in reason
    assert "database says no" not in reason
    await asyncio.sleep(0.5)
    assert len(attempts) == 3  # bounded: no more deliveries once dead-lettered


async def test_a_transient_failure_is_retried_and_applied_once(
    start_consumer: Callable[[Handler], Awaitable[Harness]],
) -> None:
    attempts: list[str] = []

    async def fails_once(envelope: Envelope, data: EventData) -> None:
        attempts.append(envelope.id)
        if len(attempts) == 1:
            raise RuntimeError("transient")

    harness = await start_consumer(fails_once)
    await harness.publish_raw(action_completed("a-1").to_json(), "e-1")
    assert await eventually(lambda: _async(len(attempts) == 2))
    await asyncio.sleep(0.3)
    assert len(attempts) == 2
    assert await harness.dead_letters() == []


async def test_redelivered_event_takes_effect_once_and_unknown_types_are_skipped(
    start_consumer: Callable[[Handler], Awaitable[Harness]],
) -> None:
    applied: list[str] = []

    async def handle(envelope: Envelope, data: EventData) -> None:
        applied.append(envelope.id)

    harness = await start_consumer(handle)
    event = action_completed("a-1")
    await harness.publish_raw(event.to_json(), "copy-1")
    await harness.publish_raw(event.to_json(), "copy-2")  # same event id, past the dup window
    unknown = event.model_copy(update={"type": "roundtable.sessions.action.renamed"})
    await harness.publish_raw(unknown.to_json(), "other", "roundtable.sessions.action.renamed")
    await harness.publish_raw(action_completed("a-2").to_json(), "e-2")

    assert await eventually(lambda: _async(len(applied) == 2))
    await asyncio.sleep(0.3)
    assert applied.count(event.id) == 1
    assert await harness.dead_letters() == []


async def _async(value: Any) -> Any:
    return value


async def _dead_letters_when(harness: Harness, count: int) -> list[tuple[bytes, dict[str, str]]]:
    letters = await harness.dead_letters()
    return letters if len(letters) >= count else []


async def test_a_batch_handler_gets_new_events_together_once(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    batches: list[list[str]] = []

    async def apply_batch(events: Sequence[tuple[Envelope, EventData]]) -> None:
        batches.append([envelope.subject for envelope, _ in events])

    async def unused(envelope: Envelope, data: EventData) -> None:
        raise AssertionError("per-event handlers are not called in batch mode")

    runtime = ServiceRuntime(make_settings(ServiceSettings, service_name="reporting"))
    runtime.add_consumer(
        EventConsumer(
            name="batch-consumer",
            source_service="sessions",
            handlers={ACTION_COMPLETED: unused},
            batch_handler=apply_batch,
        )
    )
    harness = Harness(runtime, nats_client, namespace)
    await runtime.start()
    try:
        events = [action_completed(f"a-{n}") for n in range(20)]
        for n, event in enumerate(events):
            await harness.publish_raw(event.to_json(), f"m-{n}")
        await harness.publish_raw(events[0].to_json(), "again")  # a redelivery beyond the window
        assert await eventually(lambda: _async(sum(map(len, batches)) >= 20))
        await asyncio.sleep(0.3)
        applied = [subject for batch in batches for subject in batch]
        assert applied == [f"a-{n}" for n in range(20)]  # once each, in stream order
    finally:
        await runtime.stop()


async def test_a_batch_handler_s_failed_event_alone_comes_back_and_the_rest_is_done(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    seen: list[list[str]] = []
    refused: set[str] = set()

    async def apply_batch(
        events: Sequence[tuple[Envelope, EventData]],
    ) -> dict[str, Exception] | None:
        seen.append([envelope.subject for envelope, _ in events])
        # The first time it sees a-3, it cannot apply it (say, its aggregate kept changing).
        failed = {
            envelope.id: RuntimeError("kept changing")
            for envelope, _ in events
            if envelope.subject == "a-3" and "a-3" not in refused
        }
        refused.update(envelope.subject for envelope, _ in events if envelope.id in failed)
        return failed or None

    async def unused(envelope: Envelope, data: EventData) -> None:
        raise AssertionError("per-event handlers are not called in batch mode")

    runtime = ServiceRuntime(make_settings(ServiceSettings, service_name="reporting"))
    runtime.add_consumer(
        EventConsumer(
            name="partly-failing-batch",
            source_service="sessions",
            handlers={ACTION_COMPLETED: unused},
            batch_handler=apply_batch,
            backoff_seconds=(0.05,),
        )
    )
    harness = Harness(runtime, nats_client, namespace)
    await runtime.start()
    try:
        for n in range(6):
            await harness.publish_raw(action_completed(f"a-{n}").to_json(), f"m-{n}")
        assert await eventually(lambda: _async(sum(s.count("a-3") for s in seen) >= 2))
        await asyncio.sleep(0.5)  # anything acknowledged would not come back; wait to see
        applied = [subject for batch in seen for subject in batch]
        # Each of the others once; a-3 refused once, then applied on its redelivery.
        assert sorted(applied) == sorted([f"a-{n}" for n in range(6)] + ["a-3"])
        assert applied.count("a-3") == 2
        assert not await harness.dead_letters()
    finally:
        await runtime.stop()


async def test_a_closed_gate_fetches_nothing_until_it_opens(
    make_settings: Callable[..., ServiceSettings], nats_client: NatsClient, namespace: str
) -> None:
    applied: list[str] = []

    async def handle(envelope: Envelope, data: EventData) -> None:
        applied.append(envelope.subject)

    gate = asyncio.Event()  # closed: a replica standing by
    runtime = ServiceRuntime(make_settings(ServiceSettings, service_name="reporting"))
    runtime.add_consumer(
        EventConsumer(
            name="gated-consumer",
            source_service="sessions",
            handlers={ACTION_COMPLETED: handle},
            gate=gate,
        )
    )
    harness = Harness(runtime, nats_client, namespace)
    durable = (stream_name("sessions", namespace), durable_name("gated-consumer", namespace))
    await runtime.start()
    try:
        for n in range(5):
            await harness.publish_raw(action_completed(f"a-{n}").to_json(), f"m-{n}")
        await asyncio.sleep(1.5)  # longer than a fetch's wait: a fetching loop would have them
        info = await harness.js.consumer_info(*durable)
        assert applied == []
        assert (info.num_pending, info.num_ack_pending, info.delivered.consumer_seq) == (5, 0, 0)

        gate.set()
        assert await eventually(lambda: _async(len(applied) >= 5))

        gate.clear()
        await asyncio.sleep(1.2)  # a fetch in hand when the gate closed ends within its second
        for n in range(5, 8):
            await harness.publish_raw(action_completed(f"a-{n}").to_json(), f"m-{n}")
        await asyncio.sleep(1.5)
        info = await harness.js.consumer_info(*durable)
        assert applied == [f"a-{n}" for n in range(5)]
        assert (info.num_pending, info.num_ack_pending) == (3, 0)
    finally:
        started = asyncio.get_running_loop().time()
        await runtime.stop()  # waiting on a closed gate does not hold the stop up
        assert asyncio.get_running_loop().time() - started < 5.0
