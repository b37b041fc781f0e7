"""HR events in batches: read together, decided by the same rules, written in bulk.

A batch keeps every rule of the events sent alone. Each event is idempotent by its HR id (the
ids applied live in the employee's document, written by the same write as the change), and one
employee's events are decided one after another in the batch's order by the same domain rule
(``domain.apply_change``), so the field-level ordering decides exactly as for single requests.

What a batch saves is round trips: the batch's employees are read in one query, and each
employee's events become ONE write (its change, its events in the outbox, its HR ids), sent in
one bulk write (``roundtable_shared.storage.bulk`` splits it where the server needs). A write that finds its employee changed meanwhile (another
request, an import) is not retried here: that employee's events go through the one-event handler
instead (``DirectoryService.apply_hr_event``), which loads what is there now and applies them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from enrollment.directory import domain
from enrollment.directory.domain import Employee
from enrollment.directory.repository import EmployeeRepository
from enrollment.directory.schemas import HrEvent
from enrollment.directory.service import DirectoryService, Outcome, change_of
from roundtable_shared.events.envelope import EventData
from roundtable_shared.http.problems import Problem

CONCURRENCY = 8
"""Employees whose events go through the one-event handler at once, when their bulk write did
not apply: enough to overlap the round trips, few enough not to crowd the database out."""


@dataclass(frozen=True)
class Stored:
    outcome: Outcome
    version: int | None


@dataclass
class _Plan:
    """What one employee's events of the batch come to: one write, or none (all repeats)."""

    employee_id: str
    employee: Employee
    """As the events leave it (they are applied to it in order)."""
    events: list[tuple[int, HrEvent]]
    outcomes: list[tuple[int, Outcome]] = field(default_factory=list)
    raised: list[EventData] = field(default_factory=list)
    hr_event_ids: list[str] = field(default_factory=list)
    new: bool = False
    version: int = 0
    """The stored version the write expects (0: a new employee)."""
    operation: Any = None

    @property
    def version_after(self) -> int:
        if not self.hr_event_ids:
            return self.version
        return self.version + max(1, len(self.raised))


def plan(
    employee_id: str,
    loaded: tuple[Employee, int, list[str]] | None,
    events: list[tuple[int, HrEvent]],
) -> _Plan:
    """Decide one employee's events in order, as the one-event handler would one by one."""
    if loaded is None:
        employee, version, seen = Employee(employee_id), 0, set[str]()
    else:
        employee, version, stored_ids = loaded
        seen = set(stored_ids)
    result = _Plan(employee_id, employee, events, new=loaded is None, version=version)
    for index, event in events:
        if event.event_id in seen:
            result.outcomes.append((index, "duplicate"))
            continue
        outcome = domain.apply_change(employee, change_of(event))
        creates = result.new and not result.hr_event_ids  # a new employee's first event
        result.outcomes.append((index, "applied" if outcome.changed or creates else "unchanged"))
        result.raised.extend(outcome.events)
        result.hr_event_ids.append(event.event_id)
        seen.add(event.event_id)
    return result


async def apply_hr_batch(
    directory: DirectoryService,
    events: Sequence[tuple[int, HrEvent]],
    *,
    concurrency: int = CONCURRENCY,
) -> dict[int, Stored | Problem]:
    """Apply ``(index, event)`` pairs; what became of each, by index. A ``Problem`` (e.g. the
    409 of an employee changing too fast) is that event's answer alone: the others go on."""
    repository = directory.employees
    by_employee: dict[str, list[tuple[int, HrEvent]]] = {}
    for index, event in events:
        by_employee.setdefault(event.employee_id, []).append((index, event))
    loaded = await repository.load_many(by_employee)
    plans = [plan(eid, loaded.get(eid), items) for eid, items in by_employee.items()]
    writing = [p for p in plans if p.hr_event_ids]
    for p in writing:
        p.operation = (
            repository.hr_insert_op(p.employee, p.raised, p.hr_event_ids)
            if p.new
            else repository.hr_update_op(p.employee, p.version, p.raised, p.hr_event_ids)
        )
    not_applied = await _write(repository, writing)
    results: dict[int, Stored | Problem] = {}
    for p in plans:
        if p.employee_id not in not_applied:
            results.update({i: Stored(outcome, p.version_after) for i, outcome in p.outcomes})
    again = [p.events for p in plans if p.employee_id in not_applied]
    await _one_by_one(directory, again, results, concurrency)
    return results


async def _write(repository: EmployeeRepository, writing: list[_Plan]) -> set[str]:
    """Bulk-write the plans; the employees whose write did not apply (changed meanwhile)."""
    ids = [p.employee_id for p in writing]
    matched, failed = await repository.bulk([p.operation for p in writing], ids)
    not_applied = {ids[index] for index in failed}  # inserted meanwhile
    updates = [p for index, p in enumerate(writing) if not p.new and index not in failed]
    if matched < len(updates):
        # Some employee changed since it was read: its write is the one whose first HR id its
        # document does not remember (the id is written by the same update).
        remembered = await repository.hr_event_ids(p.employee_id for p in updates)
        not_applied.update(
            p.employee_id
            for p in updates
            if p.hr_event_ids[0] not in remembered.get(p.employee_id, set())
        )
    return not_applied


async def _one_by_one(
    directory: DirectoryService,
    employees: list[list[tuple[int, HrEvent]]],
    results: dict[int, Stored | Problem],
    concurrency: int,
) -> None:
    """Each employee's events through the one-event handler, in order; employees side by side."""
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
        for employee_events in employees:
            group.create_task(apply_in_order(employee_events))
