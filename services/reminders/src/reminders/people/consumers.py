"""Employee directory events -> the recipients copy, and cancellations for people who left."""

from __future__ import annotations

from reminders.people.repository import RecipientRepository
from reminders.people.service import ErasureService
from reminders.schedule.repository import ReminderRepository
from roundtable_shared.events.catalogue.enrollment import (
    EmployeeErased,
    EmployeeOffboarded,
    EmployeeUpserted,
)
from roundtable_shared.events.envelope import Envelope, EventData


class PeopleHandlers:
    def __init__(
        self,
        recipients: RecipientRepository,
        reminders: ReminderRepository,
        erasure: ErasureService,
    ) -> None:
        self.recipients = recipients
        self.reminders = reminders
        self.erasure = erasure

    async def upserted(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeUpserted)
        await self.recipients.upsert(
            data.employee_id,
            envelope.aggregateversion,
            {
                "display_name": data.display_name,
                "email": data.email,
                "time_zone": data.time_zone,
                "employment_status": str(data.employment_status),
            },
        )

    async def offboarded(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeOffboarded)
        await self.recipients.upsert(
            data.employee_id, envelope.aggregateversion, {"employment_status": "terminated"}
        )
        await self.reminders.cancel({"recipient_id": data.employee_id}, "recipient_offboarded")

    async def erased(self, envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeErased)
        await self.erasure.erase(data.employee_id, envelope.aggregateversion)
