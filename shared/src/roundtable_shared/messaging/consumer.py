"""Durable JetStream consumers: explicit ack, bounded redelivery with backoff, dead letters.

One consumer reads one producer's stream (``roundtable.<producer>.>``) under a durable name, so
replicas of a service share its work. Each event is dispatched by type to a handler; types the
consumer has no handler for are acknowledged and skipped. An event that fails validation goes
straight to the dead-letter subject; one whose handler keeps failing goes there after
``max_deliver`` attempts. Nothing is acknowledged before its effect is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from roundtable_shared.events.envelope import (
    Envelope,
    EventData,
    InvalidEvent,
    service_of,
    subject_for,
)
from roundtable_shared.events.registry import parse_data
from roundtable_shared.messaging.inbox import Inbox
from roundtable_shared.messaging.streams import (
    dead_letter_stream,
    dead_letter_subject,
    durable_name,
    service_subjects,
    stream_name,
)
from roundtable_shared.observability import metrics
from roundtable_shared.observability.redaction import exception_summary, validation_summary
from roundtable_shared.observability.tracing import current_traceparent

log = structlog.get_logger(__name__)

EventHandler = Callable[[Envelope, EventData], Awaitable[None]]
BatchHandler = Callable[
    [Sequence[tuple[Envelope, EventData]]], Awaitable[Mapping[str, Exception] | None]
]
"""Applies a batch; answers the events it could not apply (by event id, with why), or None when
it applied them all."""


@dataclass(frozen=True)
class EventConsumer:
    """What a service consumes from one producer's stream, and what it does with each type."""

    name: str
    source_service: str
    handlers: Mapping[str, EventHandler]
    max_deliver: int = 5
    backoff_seconds: Sequence[float] = field(default=(0.5, 2.0, 5.0, 15.0, 30.0))
    ack_wait_seconds: float = 30.0
    batch_size: int = 50  # FerretDB 1.24 hangs on bulk updates of 100 or more
    batch_handler: BatchHandler | None = None
    """When set, it gets each batch's new events at once, in stream order, instead of ``handlers``
    being called one by one (which still name the types taken): for read models that write a
    whole batch in one bulk write. If it raises, the whole batch is retried; the events it
    answers as failed are retried (and dead-lettered) one by one, and the rest acknowledged."""
    concurrency: int | None = None
    """Aggregates whose events are applied at once (``handlers`` only); one aggregate's events
    always one after another, in stream order. None: the service's ``consumer_concurrency``."""
    gate: asyncio.Event | None = None
    """When set, the pull loop fetches only while it is set: a replica standing by (another one
    holds the right to apply these events) fetches nothing, so it causes no redeliveries and no
    dead letters. A batch already fetched when it is cleared is still processed."""

    def retry_delay(self, delivered: int) -> float:
        return self.backoff_seconds[min(delivered, len(self.backoff_seconds)) - 1]


def joined_handlers(
    handlers: Mapping[str, EventHandler],
    extra: Mapping[str, EventHandler],
    *,
    new_types: bool = True,
) -> dict[str, EventHandler]:
    """One consumer's handlers with another concept's beside them (same durable, same NATS
    permissions). Where both take a type, ``handlers``' runs first, then ``extra``'s: each is
    idempotent, so a redelivery after the second failed runs the first again harmlessly.
    ``new_types=False`` keeps to the types ``handlers`` already takes."""
    joined = dict(handlers)
    for event_type, handler in extra.items():
        first = handlers.get(event_type)
        if first is not None:
            joined[event_type] = _one_after_another(first, handler)
        elif new_types:
            joined[event_type] = handler
    return joined


def _one_after_another(first: EventHandler, then: EventHandler) -> EventHandler:
    async def handle(envelope: Envelope, data: EventData) -> None:
        await first(envelope, data)
        await then(envelope, data)

    return handle


@dataclass
class _Delivery:
    """One message of a batch on its way through the runner."""

    raw: Msg
    envelope: Envelope
    data: EventData
    handler: EventHandler

    @property
    def delivered(self) -> int:
        return self.raw.metadata.num_delivered or 1


class ConsumerRunner:
    """Turns batches of raw JetStream messages into handler calls with the guarantees above.

    The inbox is read once and written once per batch (not per event): on FerretDB a round trip
    costs about a millisecond, which would otherwise cap a consumer near a hundred events a second.
    Events of one aggregate keep their order: after one fails, the later ones of the same
    aggregate in the batch wait for its redelivery. With ``concurrency`` above one, the events
    of different aggregates are applied side by side (as replicas of the service would apply
    them), each aggregate's in stream order: a handler's round trips no longer queue the whole
    batch behind them.
    """

    def __init__(
        self,
        consumer: EventConsumer,
        broker: NatsBroker,
        inbox: Inbox,
        namespace: str,
        opener: Callable[[Envelope], Awaitable[Envelope]] | None = None,
        concurrency: int = 1,
    ) -> None:
        """``opener``: what opens the sealed personal fields of an event before its handler
        sees it (the raw message, still sealed, is what a dead letter keeps). ``concurrency``:
        aggregates applied at once when the consumer does not say (``EventConsumer``)."""
        self.consumer = consumer
        self._concurrency = max(1, consumer.concurrency or concurrency)
        self._open = opener
        self._broker = broker
        self._inbox = inbox
        self._namespace = namespace
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = False

    async def start(self, js: JetStreamContext) -> None:
        """Bind the durable pull consumer (created on first use) and start pulling."""
        c = self.consumer
        self._subscription = await js.pull_subscribe(
            service_subjects(c.source_service, self._namespace),
            durable=durable_name(c.name, self._namespace),
            stream=stream_name(c.source_service, self._namespace),
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=c.ack_wait_seconds,
                # One more than ours, so our last attempt can still dead-letter the event.
                max_deliver=c.max_deliver + 1,
                max_ack_pending=max(1000, c.batch_size * 4),
            ),
        )
        self._running = True
        self._task = asyncio.create_task(self._pull(), name=f"consumer-{c.name}")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the batch in hand, then stop; what is unacknowledged is redelivered later."""
        self._running = False
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._subscription is not None:
            # Otherwise draining the connection waits out its timeout on our idle pull inbox.
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()

    async def _pull(self) -> None:
        # Our own loop over nats-py rather than FastStream's pull subscriber: FastStream 0.7.8 lets
        # a plain asyncio.TimeoutError from nats-py's fetch escape and stalls the consumer.
        assert self._subscription is not None
        gate = self.consumer.gate
        while self._running:
            if gate is not None and not gate.is_set():
                # Checked again each second, like an idle fetch, so ``stop`` is not held up.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(gate.wait(), 1.0)
                continue
            try:
                batch = await self._subscription.fetch(self.consumer.batch_size, timeout=1.0)
            except TimeoutError:  # nothing new; nats.errors.TimeoutError is one too
                continue
            except Exception:
                log.exception("fetching events failed; retrying", consumer=self.consumer.name)
                await asyncio.sleep(1.0)
                continue
            try:
                await self.process(batch)
            except Exception:
                # Unacknowledged events come back after ack_wait: nothing is lost.
                log.exception("processing a batch failed", consumer=self.consumer.name)
                await asyncio.sleep(1.0)

    async def process(self, batch: Sequence[Msg]) -> None:
        # Side by side: opening sealed fields may read a key from the bucket for each event.
        parsed = await asyncio.gather(*(self._parse(raw) for raw in batch))
        deliveries = [d for d in parsed if d is not None]
        fresh = await self._drop_duplicates(deliveries)
        if self.consumer.batch_handler is not None:
            applied = await self._apply_batch(fresh)
        else:
            applied = await self._apply_one_by_one(fresh)
        await self._inbox.mark_many(self.consumer.name, [d.envelope.id for d in applied])
        for delivery in applied:
            await delivery.raw.ack()
            self._record_applied(delivery.envelope)
        if batch:
            metrics.CONSUMER_PENDING.labels(consumer=self.consumer.name).set(
                batch[-1].metadata.num_pending or 0
            )

    async def _drop_duplicates(self, deliveries: list[_Delivery]) -> list[_Delivery]:
        """Acknowledge events already finished (or repeated within the batch); keep the rest."""
        seen = await self._inbox.seen_many(self.consumer.name, [d.envelope.id for d in deliveries])
        fresh: list[_Delivery] = []
        for delivery in deliveries:
            if delivery.envelope.id in seen:
                await delivery.raw.ack()
                self._count("duplicate")
            else:
                seen.add(delivery.envelope.id)
                fresh.append(delivery)
        return fresh

    async def _apply_one_by_one(self, deliveries: list[_Delivery]) -> list[_Delivery]:
        if self._concurrency > 1:
            return await self._apply_by_aggregate(deliveries)
        applied: list[_Delivery] = []
        failed_aggregates: set[str] = set()
        for delivery in deliveries:
            aggregate = delivery.envelope.subject
            if aggregate in failed_aggregates:
                await delivery.raw.nak(delay=self.consumer.retry_delay(delivery.delivered))
                self._count("retried")
            elif await self._apply(delivery):
                applied.append(delivery)
            else:
                failed_aggregates.add(aggregate)
        return applied

    async def _apply_by_aggregate(self, deliveries: list[_Delivery]) -> list[_Delivery]:
        """Each aggregate's events in order, ``concurrency`` aggregates at a time; what was
        applied, in stream order (the order they are acknowledged in)."""
        lanes: dict[str, list[_Delivery]] = {}
        for delivery in deliveries:
            lanes.setdefault(delivery.envelope.subject, []).append(delivery)
        applied: set[int] = set()
        gate = asyncio.Semaphore(self._concurrency)

        async def apply_lane(lane: list[_Delivery]) -> None:
            async with gate:
                for position, delivery in enumerate(lane):
                    if not await self._apply(delivery):
                        # The later events of this aggregate wait for its redelivery.
                        for later in lane[position + 1 :]:
                            await later.raw.nak(delay=self.consumer.retry_delay(later.delivered))
                            self._count("retried")
                        return
                    applied.add(id(delivery))

        # A TaskGroup: should NATS fail under one lane, the others stop and the batch is
        # redelivered (every handler is idempotent), rather than running on unawaited.
        async with asyncio.TaskGroup() as group:
            for lane in lanes.values():
                group.create_task(apply_lane(lane))
        return [delivery for delivery in deliveries if id(delivery) in applied]

    async def _apply_batch(self, deliveries: list[_Delivery]) -> list[_Delivery]:
        if not deliveries:
            return []
        assert self.consumer.batch_handler is not None
        try:
            failures = await self.consumer.batch_handler([(d.envelope, d.data) for d in deliveries])
        except Exception as exc:
            for delivery in deliveries:
                await self._failed(delivery.raw, exc, delivery.delivered)
            return []
        if not failures:
            return deliveries
        applied: list[_Delivery] = []
        for delivery in deliveries:
            failure = failures.get(delivery.envelope.id)
            if failure is None:
                applied.append(delivery)
            else:
                # Only this one comes back (its handler keeps the events of one aggregate
                # together); the rest of the batch is done.
                await self._failed(delivery.raw, failure, delivery.delivered)
        return applied

    async def _parse(self, raw: Msg) -> _Delivery | None:
        """The delivery, or None when the message was settled here (dead-lettered or skipped)."""
        try:
            envelope = Envelope.from_json(raw.data)
            if (forged := self._not_from_its_producer(raw, envelope)) is not None:
                await self._dead_letter(raw, forged, raw.metadata.num_delivered or 1)
                return None
            handler = self.consumer.handlers.get(envelope.type)
            if handler is not None and self._open is not None:
                envelope = await self._open(envelope)
            data = parse_data(envelope) if handler else None
        except InvalidEvent as exc:
            reason = f"invalid event: {_invalid_reason(exc)}"
            await self._dead_letter(raw, reason, raw.metadata.num_delivered or 1)
            return None
        if handler is None or data is None:
            await raw.ack()
            self._count("ignored")
            return None
        return _Delivery(raw, envelope, data, handler)

    def _not_from_its_producer(self, raw: Msg, envelope: Envelope) -> str | None:
        """Why the envelope does not belong where it was found, or None when it does.

        NATS lets only a producer's user publish on ``roundtable.<producer>.>``, so the subject
        names the producer; an envelope that claims another type or ``source`` than that
        subject's service was forged or misrouted, and is never applied."""
        producer = self.consumer.source_service
        if raw.subject != subject_for(envelope.type, self._namespace):
            return "forged event: its type is not its subject"
        if service_of(envelope.type) != producer:
            return f"forged event: not an event of {producer}"
        if envelope.source != f"/roundtable/{producer}":
            return f"forged event: its source is not {producer}"
        return None

    async def _apply(self, delivery: _Delivery) -> bool:
        envelope = delivery.envelope
        token = current_traceparent.set(envelope.traceparent)
        try:
            with structlog.contextvars.bound_contextvars(
                event_id=envelope.id, event_type=envelope.type, consumer=self.consumer.name
            ):
                try:
                    await delivery.handler(envelope, delivery.data)
                except Exception as exc:
                    await self._failed(delivery.raw, exc, delivery.delivered)
                    return False
                return True
        finally:
            current_traceparent.reset(token)

    def _count(self, outcome: str) -> None:
        metrics.EVENTS_CONSUMED.labels(consumer=self.consumer.name, outcome=outcome).inc()

    async def _failed(self, raw: Msg, exc: Exception, delivered: int) -> None:
        if delivered >= self.consumer.max_deliver:
            log.exception("event handler failed for the last time", attempts=delivered)
            reason = f"handler failed {delivered} times: {exception_summary(exc)}"
            await self._dead_letter(raw, reason, delivered)
            return
        delay = self.consumer.retry_delay(delivered)
        log.warning(
            "event handler failed, retrying",
            attempts=delivered,
            delay=delay,
            error=exception_summary(exc),
        )
        await raw.nak(delay=delay)
        self._count("retried")

    async def _dead_letter(self, raw: Msg, reason: str, delivered: int) -> None:
        meta = raw.metadata
        msg_id = (raw.headers or {}).get("Nats-Msg-Id", f"seq-{meta.sequence.stream}")
        await self._broker.publish(
            raw.data,
            dead_letter_subject(self.consumer.name, self._namespace),
            headers={
                "Nats-Msg-Id": f"{self.consumer.name}:{msg_id}",
                "Roundtable-Dead-Letter-Reason": reason[:500],
                "Roundtable-Original-Subject": raw.subject,
                "Roundtable-Deliveries": str(delivered),
            },
            stream=dead_letter_stream(self._namespace),
        )
        # Only once it is kept in the dead-letter stream do we stop its redelivery.
        await raw.term()
        self._count("dead_lettered")
        log.error("event dead-lettered", reason=reason, subject=raw.subject)

    def _record_applied(self, envelope: Envelope) -> None:
        self._count("applied")
        now = time.time()
        lag = max(0.0, (datetime.now(UTC) - envelope.time).total_seconds())
        metrics.CONSUMER_LAG_SECONDS.labels(consumer=self.consumer.name).set(lag)
        metrics.CONSUMER_LAST_APPLIED.labels(consumer=self.consumer.name).set(now)


def _invalid_reason(exc: InvalidEvent) -> str:
    """Why an event is invalid, without the values it holds (a dead letter's reason is logged
    and kept beside it): the failing fields and error kinds, or an unknown type."""
    cause = exc.__cause__
    if isinstance(cause, ValidationError):  # the envelope's, or its data's (``parse_data``)
        return validation_summary(cause, "data." if str(exc).startswith("data.") else "")
    return str(exc) if str(exc).startswith("type: ") else type(exc).__name__
