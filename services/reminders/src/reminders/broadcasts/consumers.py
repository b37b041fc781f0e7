"""The events the broadcast roster is built from, taken by the reminders service's existing
consumers: each of these events also goes to the roster after the schedule's own handler."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from reminders.broadcasts.roster import Roster
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventConsumer, EventHandler

E = "roundtable.enrollment."
S = "roundtable.sessions."


def roster_handlers(roster: Roster) -> dict[str, EventHandler]:
    return {
        E + "participant.enrolled": roster.participant,
        E + "participant.withdrawn": roster.participant,
        E + "participant.paused": roster.participant,
        E + "participant.resumed": roster.participant,
        E + "program.closed": roster.program_closed,
        E + "group.formed": roster.group,
        E + "group.changed": roster.group,
        E + "group.dissolved": roster.group,
        S + "session.scheduled": roster.session,
        S + "session.rescheduled": roster.session,
        S + "session.cancelled": roster.session,
        S + "session.completed": roster.session,
    }


def with_roster(consumers: Iterable[EventConsumer], roster: Roster) -> list[EventConsumer]:
    """The same consumers (same durable names, same permissions), each event of the roster's
    also kept in it. Both handlers are repeatable, so a redelivery after either failed is safe."""
    extra = roster_handlers(roster)
    return [
        dataclasses.replace(consumer, handlers=_joined(consumer.handlers, extra))
        for consumer in consumers
    ]


def _joined(
    handlers: Mapping[str, EventHandler], extra: Mapping[str, EventHandler]
) -> dict[str, EventHandler]:
    joined = dict(handlers)
    for subject, handler in extra.items():
        first = handlers.get(subject)
        if first is None:
            continue  # another consumer's subject
        joined[subject] = _both(first, handler)
    return joined


def _both(first: EventHandler, then: EventHandler) -> EventHandler:
    async def handle(envelope: Envelope, data: EventData) -> None:
        await first(envelope, data)
        await then(envelope, data)

    return handle
