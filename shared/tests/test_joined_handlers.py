"""Two concepts' handlers on one consumer: both run where both take a type, the consumer's first."""

from __future__ import annotations

from datetime import UTC, datetime

from roundtable_shared.events.catalogue.enrollment import EmployeeErased
from roundtable_shared.events.envelope import Envelope, EventData, new_envelope
from roundtable_shared.messaging.consumer import EventHandler, joined_handlers

ERASED = EmployeeErased.event_type


def recorder(calls: list[str], name: str) -> EventHandler:
    async def handle(envelope: Envelope, data: EventData) -> None:
        calls.append(name)

    return handle


async def test_where_both_take_a_type_the_consumers_handler_runs_first_then_the_other() -> None:
    calls: list[str] = []
    own = {ERASED: recorder(calls, "own")}
    extra = {ERASED: recorder(calls, "extra"), "x.other": recorder(calls, "other")}
    data = EmployeeErased(employee_id="e-1", erased_at=datetime.now(UTC))
    envelope = new_envelope(data, subject="e-1", aggregate_version=1, source="/test")

    joined = joined_handlers(own, extra)
    await joined[ERASED](envelope, data)

    assert calls == ["own", "extra"]
    assert set(joined) == {ERASED, "x.other"}
    assert set(joined_handlers(own, extra, new_types=False)) == {ERASED}
