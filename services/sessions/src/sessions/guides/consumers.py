"""Enrollment's program and enrolment events, kept as the copies that tell a program's format,
its sponsors and its participants (who may read its guide)."""

from __future__ import annotations

from collections.abc import Mapping

from roundtable_shared.events.catalogue.enrollment import (
    ParticipantEnrolled,
    ParticipantWithdrawn,
    ProgramCreated,
    ProgramTemplateDeleted,
    ProgramTemplateSaved,
    ProgramUpdated,
)
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventHandler, joined_handlers
from sessions.guides.cloning import GuideCloning
from sessions.guides.service import GuideService


def handlers(
    guides: GuideService, cloning: GuideCloning, others: Mapping[str, EventHandler]
) -> dict[str, EventHandler]:
    """The guides' handlers beside ``others`` (the same consumer's other concepts'). Where both
    take a type, both run, theirs first: each is idempotent, so the redelivery after a failure
    of the second runs the first again harmlessly."""

    async def program_snapshot(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramCreated | ProgramUpdated)
        # Version-guarded: a repeated or late event changes nothing.
        await guides.program_changed(envelope.aggregateversion, data)
        if isinstance(data, ProgramCreated):
            await cloning.program_created(data.program_id, data.copied_from)

    async def template_saved(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramTemplateSaved)
        await cloning.template_saved(data)

    async def template_deleted(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ProgramTemplateDeleted)
        await cloning.template_deleted(data)

    async def enrolment(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ParticipantEnrolled | ParticipantWithdrawn)
        await guides.participant_changed(envelope.aggregateversion, data)

    ours: dict[str, EventHandler] = {
        ProgramCreated.event_type: program_snapshot,
        ProgramUpdated.event_type: program_snapshot,
        ParticipantEnrolled.event_type: enrolment,
        ParticipantWithdrawn.event_type: enrolment,
        ProgramTemplateSaved.event_type: template_saved,
        ProgramTemplateDeleted.event_type: template_deleted,
    }
    return joined_handlers(others, ours)
