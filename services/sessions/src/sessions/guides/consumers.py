"""Enrollment's program events, kept as the copy that tells a program's format and sponsors."""

from __future__ import annotations

from roundtable_shared.events.catalogue.enrollment import ProgramCreated, ProgramUpdated
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventHandler
from sessions.guides.service import GuideService


def handlers(guides: GuideService) -> dict[str, EventHandler]:
    async def program_snapshot(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramCreated | ProgramUpdated)
        # Version-guarded: a repeated or late event changes nothing.
        await guides.program_changed(envelope.aggregateversion, data)

    return {
        ProgramCreated.event_type: program_snapshot,
        ProgramUpdated.event_type: program_snapshot,
    }
