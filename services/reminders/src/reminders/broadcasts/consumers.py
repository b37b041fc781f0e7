"""The events the broadcast roster is built from, taken by the reminders service's existing
consumers: each of these events also goes to the roster after the schedule's own handler."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from reminders.broadcasts.roster import Roster
from roundtable_shared.messaging.consumer import EventConsumer, EventHandler, joined_handlers

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
        dataclasses.replace(
            consumer, handlers=joined_handlers(consumer.handlers, extra, new_types=False)
        )
        for consumer in consumers
    ]
