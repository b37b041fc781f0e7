"""Enrollment's group and employee events, translated into membership (and follow-up) calls.

Every handler is repeatable: copies are version-guarded, follow-ups only act on what is still open.
"""

from __future__ import annotations

from roundtable_shared.events.catalogue.enrollment import (
    EmployeeUpserted,
    GroupChanged,
    GroupDissolved,
    GroupFormed,
    ParticipantWithdrawn,
)
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventHandler
from sessions.action_steps.service import ActionStepService
from sessions.membership.service import MembershipService
from sessions.scheduling.service import SchedulingService


def handlers(
    membership: MembershipService, scheduling: SchedulingService, actions: ActionStepService
) -> dict[str, EventHandler]:
    async def group_snapshot(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, GroupFormed | GroupChanged)
        await membership.group_formed(envelope.aggregateversion, data)
        # Always, not only when the copy changed: a redelivery after a crash between the two
        # steps must still reach the sessions.
        await scheduling.reinvite_upcoming(data.group_id)

    async def group_dissolved(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, GroupDissolved)
        await membership.group_dissolved(envelope.aggregateversion, data)
        await scheduling.cancel_upcoming_of_dissolved_group(data.group_id)

    async def participant_withdrawn(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, ParticipantWithdrawn)
        await membership.participant_withdrawn(data)
        if data.group_id is not None:
            await actions.owner_withdrew(data.employee_id, data.group_id)
            await scheduling.reinvite_upcoming(data.group_id)

    async def employee_upserted(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeUpserted)
        await membership.employee_upserted(envelope.aggregateversion, data)

    return {
        GroupFormed.event_type: group_snapshot,
        GroupChanged.event_type: group_snapshot,
        GroupDissolved.event_type: group_dissolved,
        ParticipantWithdrawn.event_type: participant_withdrawn,
        EmployeeUpserted.event_type: employee_upserted,
    }
