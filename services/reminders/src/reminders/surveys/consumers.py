"""The survey events the reminders service takes, on its existing enrollment consumer (same
durable name, same NATS permissions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from reminders.surveys.service import SurveyNudges
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventConsumer, EventHandler

E = "roundtable.enrollment."


def with_survey_nudges(
    consumers: Iterable[EventConsumer], nudges: SurveyNudges
) -> list[EventConsumer]:
    handlers = {
        E + "survey.opened": nudges.opened,
        E + "survey.answered": nudges.answered,
        E + "survey.closed": nudges.closed,
    }
    return [
        _with(c, handlers, nudges) if c.source_service == "enrollment" else c for c in consumers
    ]


def _with(
    consumer: EventConsumer, handlers: Mapping[str, EventHandler], nudges: SurveyNudges
) -> EventConsumer:
    taken = {**consumer.handlers, **handlers}
    erase = consumer.handlers.get(E + "employee.erased")
    if erase is not None:  # the service's own erasure first, then the surveys'
        taken[E + "employee.erased"] = _both(erase, nudges.erased)
    return dataclasses.replace(consumer, handlers=taken)


def _both(first: EventHandler, then: EventHandler) -> EventHandler:
    async def handle(envelope: Envelope, data: EventData) -> None:
        await first(envelope, data)
        await then(envelope, data)

    return handle
