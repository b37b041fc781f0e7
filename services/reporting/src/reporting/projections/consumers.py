"""The reporting service's durable consumers: one per producer's stream."""

from __future__ import annotations

from reporting.projections.handlers import HANDLER_TABLES, ModelsProvider
from reporting.projections.metrics import record_applied
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventConsumer, EventHandler


def consumer_name(source_service: str) -> str:
    return f"reporting-{source_service}"


def _recorded(name: str, handler: EventHandler) -> EventHandler:
    async def handle(envelope: Envelope, data: EventData) -> None:
        await handler(envelope, data)
        record_applied(name, envelope.time)

    return handle


def projection_consumers(
    models: ModelsProvider, *, max_deliver: int, ack_wait_seconds: float
) -> list[EventConsumer]:
    consumers = []
    for source, table in HANDLER_TABLES.items():
        name = consumer_name(source)
        handlers = {kind: _recorded(name, h) for kind, h in table(models).items()}
        consumers.append(
            EventConsumer(
                name=name,
                source_service=source,
                handlers=handlers,
                max_deliver=max_deliver,
                ack_wait_seconds=ack_wait_seconds,
            )
        )
    return consumers
