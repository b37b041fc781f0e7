"""The events that carry a program's wordings into a program made from a template or a clone,
taken by the reminders service's enrollment consumer (after its own handler of each type)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from reminders.program_messages.cloning import MessageCloning
from roundtable_shared.events.catalogue.enrollment import (
    ProgramCreated,
    ProgramTemplateDeleted,
    ProgramTemplateSaved,
)
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventConsumer, EventHandler, joined_handlers


def cloning_handlers(cloning: MessageCloning) -> dict[str, EventHandler]:
    async def program_created(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramCreated)
        await cloning.program_created(data.program_id, data.copied_from)

    async def template_saved(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramTemplateSaved)
        await cloning.template_saved(data)

    async def template_deleted(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramTemplateDeleted)
        await cloning.template_deleted(data)

    return {
        ProgramCreated.event_type: program_created,
        ProgramTemplateSaved.event_type: template_saved,
        ProgramTemplateDeleted.event_type: template_deleted,
    }


def with_cloning(
    consumers: Iterable[EventConsumer], cloning: MessageCloning
) -> list[EventConsumer]:
    """The same consumers (same durable names, same permissions), the enrollment one also
    taking the template events. Every handler is repeatable, so where two take one type a
    redelivery after either failed is safe."""
    extra = cloning_handlers(cloning)
    return [
        dataclasses.replace(consumer, handlers=joined_handlers(consumer.handlers, extra))
        if consumer.source_service == "enrollment"
        else consumer
        for consumer in consumers
    ]
