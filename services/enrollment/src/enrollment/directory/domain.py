"""The employee directory as HR describes it: pure rules, no I/O.

HR changes can arrive late, twice, or out of order. Each field of an employee remembers the
*stamp* of the change that last set it (effective time in UTC, then the HR event id as a
tie-break), and a change only sets the fields whose stamp it beats. So an older change never
overwrites a newer one, whatever order they arrive in, and replaying any change is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from enrollment.clock import as_utc
from roundtable_shared.events.catalogue.enrollment import (
    EmployeeErased,
    EmployeeOffboarded,
    EmployeeUpserted,
    EmploymentStatus,
    WithdrawReason,
)
from roundtable_shared.events.envelope import EventData

PROFILE_FIELDS = (
    "display_name",
    "email",
    "title",
    "level",
    "department",
    "location",
    "time_zone",
    "manager_id",
    "hire_date",
)
"""What HR may say about an employee (besides the employment status)."""

IDENTITY_FIELDS = (
    "user_name",
    "external_id",
    "given_name",
    "family_name",
    "organization",
    "division",
    "cost_center",
)
"""What the identity provider says besides HR's fields (SCIM): the same field-level ordering."""

PERSONAL_FIELDS = (*PROFILE_FIELDS, *IDENTITY_FIELDS, "leave_expected_return_on")
"""Removed on erasure."""

ERASED_NAME = "Erased employee"

CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of our clock an import's ``as_of`` may be: HR's clock may run a little fast."""


def future_as_of(as_of: datetime, now: datetime) -> bool:
    """An import stamps every field it sets with its ``as_of``, and only a later change beats a
    stamp: an ``as_of`` in the future would freeze those fields against every HR change until
    then, a termination included. So it may be ahead of now by clock skew, no more."""
    return as_of > now + CLOCK_SKEW


def stamp(effective_at: datetime, change_id: str) -> str:
    """Sortable as a string: fixed-width UTC ISO time, then the change id."""
    return f"{as_utc(effective_at).strftime('%Y-%m-%dT%H:%M:%S.%f')}Z|{change_id}"


@dataclass
class Employee:
    employee_id: str
    profile: dict[str, Any] = field(default_factory=dict)
    employment_status: EmploymentStatus | None = None
    field_stamps: dict[str, str] = field(default_factory=dict)
    erased: bool = False
    offboarded_at: datetime | None = None
    updated_at: datetime | None = None
    cascade_due: WithdrawReason | None = None
    """Set with a termination or erasure (same write, same outbox): their enrolments are still to
    be withdrawn. Cleared once done, so a restart knows what a crash left half done."""

    @property
    def complete(self) -> bool:
        """Enough to announce: consumers need a name, an email and a status."""
        return bool(
            self.profile.get("display_name")
            and self.profile.get("email")
            and self.employment_status is not None
        )

    def snapshot(self, updated_at: datetime) -> EmployeeUpserted:
        return EmployeeUpserted(
            employee_id=self.employee_id,
            display_name=self.profile["display_name"],
            email=self.profile["email"],
            time_zone=self.profile.get("time_zone") or "UTC",
            employment_status=self.employment_status or EmploymentStatus.ACTIVE,
            updated_at=updated_at,
        )


@dataclass(frozen=True)
class Change:
    """One HR change: some profile fields and/or a new status, effective at a time."""

    change_id: str
    effective_at: datetime
    profile: dict[str, Any] = field(default_factory=dict)
    status: EmploymentStatus | None = None


@dataclass
class Outcome:
    applied_fields: list[str]
    events: list[EventData]

    @property
    def changed(self) -> bool:
        return bool(self.applied_fields)


def apply_change(employee: Employee, change: Change) -> Outcome:
    """Apply the parts of ``change`` newer than what the employee holds; mutates ``employee``."""
    if employee.erased:
        return Outcome([], [])  # erasure is final: HR replays must not bring the data back
    new_stamp = stamp(change.effective_at, change.change_id)
    wanted: dict[str, Any] = {k: _plain(v) for k, v in change.profile.items()}
    if change.status is not None:
        wanted["employment_status"] = change.status
    applied: list[str] = []
    was_complete = employee.complete
    before_status = employee.employment_status
    for name, value in wanted.items():
        if employee.field_stamps.get(name, "") >= new_stamp:
            continue
        employee.field_stamps[name] = new_stamp
        current = (
            employee.employment_status
            if name == "employment_status"
            else employee.profile.get(name)
        )
        if current == value:
            continue
        if name == "employment_status":
            employee.employment_status = EmploymentStatus(value)
        else:
            employee.profile[name] = value
        applied.append(name)
    events: list[EventData] = []
    if not applied:
        return Outcome([], [])
    employee.updated_at = change.effective_at
    if employee.complete and (not was_complete or _announced_changed(applied)):
        events.append(employee.snapshot(change.effective_at))
    if (
        employee.employment_status is EmploymentStatus.TERMINATED
        and before_status is not EmploymentStatus.TERMINATED
    ):
        employee.offboarded_at = change.effective_at
        employee.cascade_due = WithdrawReason.TERMINATED
        events.append(
            EmployeeOffboarded(employee_id=employee.employee_id, offboarded_at=change.effective_at)
        )
    return Outcome(applied, events)


_ANNOUNCED = {
    "display_name",
    "email",
    "time_zone",
    "employment_status",
    # Not in the event, but enrolments follow them (consenting participants' reporting
    # attributes): the event tells this service's own directory cascade to look.
    "department",
    "level",
    "location",
}


def _announced_changed(applied: list[str]) -> bool:
    return bool(_ANNOUNCED.intersection(applied))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def erase(employee: Employee, erased_at: datetime) -> list[EventData]:
    """Forget the person; keep the id (opaque) so counts stay right."""
    if employee.erased:
        return []
    employee.erased = True
    employee.profile = {}
    employee.cascade_due = WithdrawReason.ERASED
    return [EmployeeErased(employee_id=employee.employee_id, erased_at=erased_at)]
