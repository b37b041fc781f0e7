"""``employee.erased`` from enrollment, translated into the erasure."""

from __future__ import annotations

from roundtable_shared.events.catalogue.enrollment import EmployeeErased
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventHandler
from sessions.erasure.service import ErasureService


def handlers(erasure: ErasureService) -> dict[str, EventHandler]:
    async def employee_erased(envelope: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeErased)
        await erasure.erase(data.employee_id, envelope.aggregateversion)

    return {EmployeeErased.event_type: employee_erased}
