"""This service's reactions to its own directory events: HR leaves, changes of the attributes
participants share with sponsors, terminations, erasures.

Run as a durable consumer of the enrollment stream, so a termination stored by the webhook is
followed by the withdrawals even if the process dies in between (at least once; each step is
idempotent because it only moves participants that are still active).

A fetched batch is applied together (``ParticipantService.follow_directory_batch``: one read of
its employees, one of their enrolments, one bulk write); an event it could not apply comes back
alone, with the other events of its employee.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from enrollment.participants.domain import DirectoryNews
from enrollment.participants.service import ParticipantService
from roundtable_shared.events.catalogue.enrollment import (
    EmployeeErased,
    EmployeeOffboarded,
    EmployeeUpserted,
    WithdrawReason,
)
from roundtable_shared.events.envelope import Envelope, EventData
from roundtable_shared.messaging.consumer import EventConsumer

log = structlog.get_logger(__name__)


async def finish_cascades_at_start(service: ParticipantService, retry_seconds: float = 5.0) -> None:
    """Once at start: finish the withdrawals and cascades a crash left half done (the events
    that started them come back too, after their ack wait; every step is idempotent)."""
    while True:
        try:
            await service.finish_cascades()
            return
        except Exception:
            log.exception("finishing interrupted withdrawals failed; retrying")
            await asyncio.sleep(retry_seconds)


def directory_cascade(service: ParticipantService, *, max_deliver: int = 5) -> EventConsumer:
    async def upserted(_: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeUpserted)
        await service.follow_directory(data.employee_id)

    async def offboarded(_: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeOffboarded)
        await service.withdraw_everywhere(data.employee_id, WithdrawReason.TERMINATED)

    async def erased(_: Envelope, data: EventData) -> None:
        assert isinstance(data, EmployeeErased)
        await service.withdraw_everywhere(data.employee_id, WithdrawReason.ERASED)

    async def together(events: Sequence[tuple[Envelope, EventData]]) -> dict[str, Exception]:
        news: list[tuple[str, str, DirectoryNews | WithdrawReason]] = []
        for envelope, data in events:
            assert isinstance(data, EmployeeUpserted | EmployeeOffboarded | EmployeeErased)
            news.append((envelope.id, data.employee_id, _news_of(data)))
        return await service.follow_directory_batch(news)

    return EventConsumer(
        name="enrollment-directory-cascade",
        source_service="enrollment",
        handlers={
            EmployeeUpserted.event_type: upserted,
            EmployeeOffboarded.event_type: offboarded,
            EmployeeErased.event_type: erased,
        },
        max_deliver=max_deliver,
        batch_handler=together,
    )


def _news_of(
    data: EmployeeUpserted | EmployeeOffboarded | EmployeeErased,
) -> DirectoryNews | WithdrawReason:
    if isinstance(data, EmployeeUpserted):
        return DirectoryNews.CHANGED
    if isinstance(data, EmployeeOffboarded):
        return DirectoryNews.TERMINATED
    return WithdrawReason.ERASED
