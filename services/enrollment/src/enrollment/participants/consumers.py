"""This service's reactions to its own directory events: HR leaves, terminations, erasures.

Run as a durable consumer of the enrollment stream, so a termination stored by the webhook is
followed by the withdrawals even if the process dies in between (at least once; each step is
idempotent because it only moves participants that are still active).
"""

from __future__ import annotations

from enrollment.participants.service import ParticipantService
from roundtable_shared.events.catalogue.enrollment import (
    EmployeeErased,
    EmployeeOffboarded,
    EmployeeUpserted,
    WithdrawReason,
)
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventConsumer


def directory_cascade(service: ParticipantService, *, max_deliver: int = 5) -> EventConsumer:
    async def upserted(_: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeUpserted)
        await service.on_employee_status(data.employee_id, data.employment_status)

    async def offboarded(_: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeOffboarded)
        await service.withdraw_everywhere(data.employee_id, WithdrawReason.TERMINATED)

    async def erased(_: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeErased)
        await service.withdraw_everywhere(data.employee_id, WithdrawReason.ERASED)

    return EventConsumer(
        name="enrollment-directory-cascade",
        source_service="enrollment",
        handlers={
            EmployeeUpserted.event_type: upserted,
            EmployeeOffboarded.event_type: offboarded,
            EmployeeErased.event_type: erased,
        },
        max_deliver=max_deliver,
    )
