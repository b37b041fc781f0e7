"""Directory handlers: HR changes one at a time (webhook), in bulk (import), and erasure."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from enrollment.directory import domain
from enrollment.directory.domain import Change, Employee
from enrollment.directory.parsing import RawRow
from enrollment.directory.repository import EmployeeRepository
from enrollment.directory.schemas import (
    EmployeeHired,
    EmployeeTerminated,
    EmployeeUpdated,
    HrEvent,
    ImportReport,
    ImportRow,
    LeaveEnded,
    LeaveStarted,
    RowError,
)
from roundtable_shared.clock import Clock, utc_now
from roundtable_shared.events.catalogue.enrollment import EmploymentStatus
from roundtable_shared.events.envelope import first_error
from roundtable_shared.http.problems import Conflict, NotFound, Unprocessable
from roundtable_shared.storage.aggregates import AlreadyExists
from roundtable_shared.storage.retry import StillStale, until_saved

MAX_REPORTED_ERRORS = 1000

Outcome = Literal["applied", "unchanged", "duplicate"]


def change_of(hr_event: HrEvent) -> Change:
    """The domain change an HR webhook event stands for."""
    profile: dict[str, Any] = {}
    status: EmploymentStatus | None = None
    if isinstance(hr_event, EmployeeHired | EmployeeUpdated):
        profile = hr_event.employee.model_dump(exclude_unset=True)
    if isinstance(hr_event, EmployeeHired):
        status = EmploymentStatus.ACTIVE
    elif isinstance(hr_event, LeaveStarted):
        status = EmploymentStatus.ON_LEAVE
        profile = {"leave_expected_return_on": hr_event.expected_return_on}
    elif isinstance(hr_event, LeaveEnded):
        status = EmploymentStatus.ACTIVE
    elif isinstance(hr_event, EmployeeTerminated):
        status = EmploymentStatus.TERMINATED
    return Change(hr_event.event_id, hr_event.effective_at, profile, status)


class DirectoryService:
    def __init__(
        self,
        employees: EmployeeRepository,
        *,
        batch_size: int = 1000,
        relay_paused: Callable[[], AbstractAsyncContextManager[None]] = contextlib.nullcontext,
        clock: Clock = utc_now,
    ) -> None:
        self.employees = employees
        self.clock = clock
        self.batch_size = batch_size
        self._relay_paused = relay_paused

    async def apply_hr_event(self, hr_event: HrEvent) -> tuple[Outcome, int | None]:
        """Store one HR change; returns only once it is stored (or known to be a repeat)."""
        change = change_of(hr_event)
        outcome, _, version = await self.change(
            hr_event.employee_id, lambda _employee: change, dedupe_id=hr_event.event_id
        )
        return outcome, version

    async def change(
        self,
        employee_id: str,
        decide: Callable[[Employee | None], Change],
        *,
        dedupe_id: str | None = None,
        likely_new: bool = False,
    ) -> tuple[Outcome, Employee, int]:
        """Apply the change ``decide`` makes of the employee as stored (None: not yet known),
        creating them if new. Every source of directory changes (HR webhooks, SCIM) comes through
        here: the same rules, the same events, the same retry on a concurrent write.
        ``dedupe_id``: the source's id of this change; a repeat changes nothing.
        ``likely_new``: insert before reading (one round trip fewer for a create, as an IdP's
        first sync sends them); an employee who exists fails the insert and is read as usual."""
        first = True

        async def attempt() -> tuple[Outcome, Employee, int] | None:
            nonlocal first
            guess_new, first = likely_new and first, False
            loaded = None if guess_new else await self.employees.load(employee_id)
            if loaded is None:
                employee = Employee(employee_id)
                outcome = domain.apply_change(employee, decide(None))
                try:
                    version = await self.employees.insert(employee, outcome.events, dedupe_id)
                except AlreadyExists:
                    return None  # created meanwhile: apply to what is there
                return "applied", employee, version
            employee, version, seen = loaded
            if dedupe_id is not None and dedupe_id in seen:
                return "duplicate", employee, version
            outcome = domain.apply_change(employee, decide(employee))
            if not outcome.changed and dedupe_id is None:
                return "unchanged", employee, version
            new_version = await self.employees.update(employee, version, outcome.events, dedupe_id)
            if new_version is None:
                return None
            return ("applied" if outcome.changed else "unchanged"), employee, new_version

        try:
            return await until_saved(attempt, what="the employee")
        except StillStale:
            # A Problem, not the bare StillStale: SCIM renders problems as SCIM errors.
            raise Conflict("the employee is changing too fast; retry") from None

    async def get(self, employee_id: str) -> tuple[Employee, int]:
        loaded = await self.employees.load(employee_id)
        if loaded is None:
            raise NotFound(f"no employee {employee_id}")
        return loaded[0], loaded[1]

    async def erase(self, employee_id: str) -> tuple[Employee, int]:
        async def attempt() -> tuple[Employee, int] | None:
            employee, version = await self.get(employee_id)
            events = domain.erase(employee, self.clock())
            if not events:
                return employee, version
            new_version = await self.employees.update(employee, version, events, None)
            return None if new_version is None else (employee, new_version)

        return await until_saved(attempt, what="the employee")

    # --- import ---------------------------------------------------------------------------------

    async def import_rows(
        self,
        rows: AsyncIterator[RawRow],
        *,
        as_of: datetime | None,
        dry_run: bool,
        full_snapshot: bool,
        import_id: str,
    ) -> ImportReport:
        """``as_of``: when the file's data took effect (default now); not in the future."""
        now = self.clock()
        if as_of is None:
            as_of = now
        elif domain.future_as_of(as_of, now):
            raise Unprocessable(
                "as_of: is in the future; an import says how things are now or were",
                errors=[{"field": "as_of", "message": "is in the future", "type": "rule"}],
            )
        async with self._relay_paused():
            return await self._import(rows, as_of, dry_run, full_snapshot, import_id)

    async def _import(
        self,
        rows: AsyncIterator[RawRow],
        as_of: datetime,
        dry_run: bool,
        full_snapshot: bool,
        import_id: str,
    ) -> ImportReport:
        started = time.perf_counter()
        run = _ImportRun(dry_run=dry_run, full_snapshot=full_snapshot)
        run.known = await self.employees.import_hashes()
        batch: list[tuple[int, ImportRow]] = []
        async for raw in rows:
            run.rows += 1
            row = run.validate(raw)
            if row is None:
                continue
            batch.append((raw.line, row))
            if len(batch) >= self.batch_size:
                await self._import_batch(batch, run, as_of, import_id)
                batch = []
        if batch:
            await self._import_batch(batch, run, as_of, import_id)
        if full_snapshot:
            await self._offboard_missing(run, as_of, import_id)
        return run.report(time.perf_counter() - started)

    async def _import_batch(
        self, batch: list[tuple[int, ImportRow]], run: _ImportRun, as_of: datetime, import_id: str
    ) -> None:
        """Rows whose hash matches the import that last wrote their employee are unchanged
        without a lookup; new employees are inserted without one; only the rest are loaded."""
        rows: list[tuple[int, ImportRow, str]] = []
        for line, row in batch:
            if row.employee_id in run.seen_in_batch:
                run.error(line, row.employee_id, "employee_id: appears twice in this import")
                continue
            run.seen_in_batch.add(row.employee_id)
            digest = _row_hash(row)
            known = run.known.get(row.employee_id, _NEW)
            if known == digest:
                run.unchanged += 1
            else:
                rows.append((line, row, digest))
        run.seen_ids.update(run.seen_in_batch)
        run.seen_in_batch.clear()
        existing = await self.employees.many(
            row.employee_id for _, row, _ in rows if row.employee_id in run.known
        )
        operations: list[Any] = []
        planned: list[tuple[str, Change, int | None]] = []
        for line, row, digest in rows:
            change = Change(
                f"import:{import_id}:{line}",
                as_of,
                row.model_dump(exclude={"employee_id", "employment_status"}, exclude_unset=True),
                row.employment_status,
            )
            current = existing.get(row.employee_id)
            employee = current[0] if current else Employee(row.employee_id)
            outcome = domain.apply_change(employee, change)
            if current is None:
                run.created += 1
                operations.append(self.employees.insert_op(employee, outcome.events, digest))
                planned.append((row.employee_id, change, None))
            elif outcome.changed:
                run.updated += 1
                operations.append(
                    self.employees.update_op(employee, current[1], outcome.events, digest)
                )
                planned.append((row.employee_id, change, current[1]))
            else:
                run.unchanged += 1
                if not run.dry_run:  # remember it, so the next import skips the lookup
                    await self.employees.set_import_hash(row.employee_id, current[1], digest)
        if run.dry_run or not operations:
            return
        matched, failed = await self.employees.bulk(operations, [eid for eid, *_ in planned])
        updates = sum(1 for *_, version in planned if version is not None)
        if matched < updates:
            # Someone (a webhook) changed some of them meanwhile: find which, redo those alone.
            versions = await self.employees.versions(eid for eid, *_ in planned)
            for index, (employee_id, _, version) in enumerate(planned):
                if version is not None and versions.get(employee_id) == version:
                    failed.add(index)
        for index in sorted(failed):
            employee_id, change, _ = planned[index]
            await self._apply_alone(employee_id, change)

    async def _apply_alone(self, employee_id: str, change: Change) -> None:
        async def attempt() -> bool | None:
            loaded = await self.employees.load(employee_id)
            if loaded is None:
                employee = Employee(employee_id)
                outcome = domain.apply_change(employee, change)
                try:
                    await self.employees.insert(employee, outcome.events, None)
                except AlreadyExists:
                    return None  # created meanwhile: apply to what is there
                return True
            employee, version, _ = loaded
            outcome = domain.apply_change(employee, change)
            if not outcome.changed:
                return True
            saved = await self.employees.update(employee, version, outcome.events, None)
            return None if saved is None else True

        await until_saved(attempt, what="an employee of the import")

    async def _offboard_missing(self, run: _ImportRun, as_of: datetime, import_id: str) -> None:
        missing = [eid async for eid in self.employees.active_ids() if eid not in run.seen_ids]
        missing.sort()
        run.offboarded = len(missing)
        if run.dry_run:
            return
        change = Change(f"import:{import_id}:offboard", as_of, {}, EmploymentStatus.TERMINATED)
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            existing = await self.employees.many(chunk)
            operations: list[Any] = []
            planned: list[str] = []
            for employee_id, (employee, version) in existing.items():
                outcome = domain.apply_change(employee, change)
                if outcome.changed:
                    operations.append(self.employees.update_op(employee, version, outcome.events))
                    planned.append(employee_id)
            _, failed = await self.employees.bulk(operations, planned)
            for index in failed:
                await self._apply_alone(planned[index], change)


_NEW = object()


def _row_hash(row: ImportRow) -> str:
    canonical = json.dumps(row.model_dump(mode="json", exclude_unset=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass
class _ImportRun:
    dry_run: bool
    full_snapshot: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    offboarded: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    seen_ids: set[str] = field(default_factory=set)
    seen_in_batch: set[str] = field(default_factory=set)
    known: dict[str, str | None] = field(default_factory=dict)

    def validate(self, raw: RawRow) -> ImportRow | None:
        employee_id = raw.values.get("employee_id") if raw.values else None
        if isinstance(employee_id, str) and employee_id:
            # Seen even when the row is bad: a bad row must not offboard its employee.
            self.seen_ids.add(employee_id)
        if raw.values is None:
            self.error(raw.line, None, raw.error or "unreadable")
            return None
        try:
            return ImportRow.model_validate(raw.values)
        except ValidationError as exc:
            self.error(
                raw.line, employee_id if isinstance(employee_id, str) else None, first_error(exc)
            )
            return None

    def error(self, line: int, employee_id: str | None, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row=line, employee_id=employee_id, reason=reason))

    def report(self, seconds: float) -> ImportReport:
        return ImportReport(
            dry_run=self.dry_run,
            full_snapshot=self.full_snapshot,
            rows=self.rows,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            offboarded=self.offboarded,
            errors=self.errors,
            error_count=self.error_count,
            seconds=round(seconds, 3),
        )
