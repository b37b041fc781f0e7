"""HR events in batches: each event through the one-event handler, employees side by side.

A batch keeps every rule of the events sent alone: each is idempotent by its HR id (the
handler's dedupe), and one employee's events are applied one after another in the batch's order,
so the field-level ordering decides exactly as it would for single requests. Different
employees' events go concurrently (bounded): that, and one signed request instead of hundreds,
is what a batch saves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from enrollment.directory.schemas import HrEvent
from enrollment.directory.service import DirectoryService, Outcome
from roundtable_shared.http.problems import Problem

CONCURRENCY = 8
"""Employees applied at once: enough to overlap the round trips, few enough not to crowd the
database out for the service's other requests."""


@dataclass(frozen=True)
class Stored:
    outcome: Outcome
    version: int | None


async def apply_hr_batch(
    directory: DirectoryService,
    events: Sequence[tuple[int, HrEvent]],
    *,
    concurrency: int = CONCURRENCY,
) -> dict[int, Stored | Problem]:
    """Apply ``(index, event)`` pairs; what became of each, by index. A ``Problem`` (e.g. the
    409 of an employee changing too fast) is that event's answer alone: the others go on."""
    by_employee: dict[str, list[tuple[int, HrEvent]]] = {}
    for index, event in events:
        by_employee.setdefault(event.employee_id, []).append((index, event))
    results: dict[int, Stored | Problem] = {}
    gate = asyncio.Semaphore(concurrency)

    async def apply_in_order(employee_events: list[tuple[int, HrEvent]]) -> None:
        async with gate:
            for index, event in employee_events:
                try:
                    outcome, version = await directory.apply_hr_event(event)
                except Problem as problem:
                    results[index] = problem
                else:
                    results[index] = Stored(outcome, version)

    # A TaskGroup: if the database fails under one employee, the others stop too and the
    # request fails as a whole (the sender resends it; every event is idempotent).
    async with asyncio.TaskGroup() as group:
        for employee_events in by_employee.values():
            group.create_task(apply_in_order(employee_events))
    return results
