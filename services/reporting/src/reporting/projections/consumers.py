"""The reporting service's durable consumers: one per producer's stream, each batch at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from reporting.projections.handlers import HANDLER_TABLES, apply_batch
from reporting.projections.metrics import record_applied
from reporting.projections.readmodel import ReadModels
from reporting.projections.writer import ProjectionWriter
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import BatchHandler, EventConsumer, EventHandler

ModelsProvider = Callable[[], Awaitable[ReadModels]]


def consumer_name(source_service: str, prefix: str = "reporting") -> str:
    return f"{prefix}-{source_service}"


def batch_handler(
    name: str, models: ModelsProvider, may_write: Callable[[], bool] | None = None
) -> BatchHandler:
    async def handle(events: Sequence[tuple[Envelope, EventData]]) -> None:
        await apply_batch(await models(), events, may_write)
        if events:
            record_applied(name, events[-1][0].time)

    return handle


def projection_consumers(
    models: ModelsProvider,
    *,
    max_deliver: int,
    prefix: str = "reporting",
    writer: ProjectionWriter | None = None,
) -> list[EventConsumer]:
    """The consumers; with a ``writer``, they fetch only while it holds the writer lease."""
    consumers = []
    for source, table in HANDLER_TABLES.items():
        name = consumer_name(source, prefix)
        handle = batch_handler(name, models, writer.may_write if writer else None)

        def one(handle: BatchHandler = handle) -> EventHandler:
            async def apply(envelope: Envelope, data: EventData) -> None:
                await handle([(envelope, data)])

            return apply

        consumers.append(
            EventConsumer(
                name=name,
                source_service=source,
                # names the types taken; with batch_handler set, the batch goes there instead
                handlers={kind.event_type: one() for kind in table},
                batch_handler=handle,
                max_deliver=max_deliver,
                gate=writer.gate if writer else None,
            )
        )
    return consumers
