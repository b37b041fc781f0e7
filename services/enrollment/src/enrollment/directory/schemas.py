"""HTTP contracts of the directory: HR webhook changes, import rows and reports, employee views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from roundtable_shared.events.catalogue.enrollment import EmploymentStatus, TimeZoneName

EmployeeId = Annotated[str, Field(min_length=1, max_length=128, examples=["e-1001"])]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]


class EmployeeProfile(BaseModel):
    """What HR says about an employee. In an update, only the fields present change."""

    model_config = ConfigDict(extra="ignore")

    display_name: str | None = Field(None, min_length=1, max_length=200, examples=["Ada Lovelace"])
    email: Email | None = Field(None, examples=["ada.lovelace@example.com"])
    title: str | None = Field(None, max_length=200, examples=["Engineering Manager"])
    level: str | None = Field(None, max_length=100, examples=["L5"])
    department: str | None = Field(None, max_length=200, examples=["Engineering"])
    location: str | None = Field(None, max_length=200, examples=["Berlin"])
    time_zone: TimeZoneName | None = None
    manager_id: EmployeeId | None = None
    hire_date: date | None = None


class HiredProfile(EmployeeProfile):
    display_name: str = Field(min_length=1, max_length=200, examples=["Ada Lovelace"])
    email: Email = Field(examples=["ada.lovelace@example.com"])


class _HrEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_id: str = Field(
        min_length=1, max_length=200, description="HR's id of this change; repeats are ignored."
    )
    employee_id: EmployeeId
    effective_at: AwareDatetime = Field(
        description="When the change takes effect; an older change never overwrites a newer one."
    )


class EmployeeHired(_HrEvent):
    type: Literal["employee.hired"]
    employee: HiredProfile


class EmployeeUpdated(_HrEvent):
    type: Literal["employee.updated"]
    employee: EmployeeProfile


class LeaveStarted(_HrEvent):
    type: Literal["employee.leave_started"]
    expected_return_on: date | None = None


class LeaveEnded(_HrEvent):
    type: Literal["employee.leave_ended"]


class EmployeeTerminated(_HrEvent):
    type: Literal["employee.terminated"]


HrEvent = Annotated[
    EmployeeHired | EmployeeUpdated | LeaveStarted | LeaveEnded | EmployeeTerminated,
    Field(discriminator="type"),
]

HR_EVENT_EXAMPLES: dict[str, Any] = {
    "hired": {
        "summary": "A hire",
        "value": {
            "event_id": "hr-evt-000123",
            "type": "employee.hired",
            "employee_id": "e-1001",
            "effective_at": "2026-03-02T08:00:00+01:00",
            "employee": {
                "display_name": "Ada Lovelace",
                "email": "ada.lovelace@example.com",
                "title": "Engineering Manager",
                "level": "L5",
                "department": "Engineering",
                "location": "Berlin",
                "time_zone": "Europe/Berlin",
                "manager_id": "e-0042",
                "hire_date": "2026-03-02",
            },
        },
    },
    "updated": {
        "summary": "A change of some fields",
        "value": {
            "event_id": "hr-evt-000124",
            "type": "employee.updated",
            "employee_id": "e-1001",
            "effective_at": "2026-06-01T00:00:00Z",
            "employee": {"title": "Director", "level": "L6"},
        },
    },
    "leave": {
        "summary": "A leave starting",
        "value": {
            "event_id": "hr-evt-000125",
            "type": "employee.leave_started",
            "employee_id": "e-1001",
            "effective_at": "2026-07-01T00:00:00Z",
            "expected_return_on": "2026-10-01",
        },
    },
    "terminated": {
        "summary": "A termination",
        "value": {
            "event_id": "hr-evt-000126",
            "type": "employee.terminated",
            "employee_id": "e-1001",
            "effective_at": "2026-12-31T17:00:00Z",
        },
    },
}


class HrEventResult(BaseModel):
    event_id: str
    employee_id: str
    outcome: Literal["applied", "unchanged", "duplicate"] = Field(
        description="applied: stored; unchanged: nothing newer in it; duplicate: seen before."
    )
    version: int | None = Field(None, description="The employee record's version after this.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "hr-evt-000123",
                    "employee_id": "e-1001",
                    "outcome": "applied",
                    "version": 1,
                }
            ]
        }
    )


MAX_HR_BATCH = 1000
"""The most HR events one signed batch request may carry (more: 413, split the batch)."""


class HrEventBatch(BaseModel):
    """Up to 1,000 HR events in one signed request (for the OpenAPI document: the endpoint reads
    each event on its own, so one malformed event does not refuse the others)."""

    events: list[HrEvent] = Field(
        min_length=1,
        max_length=MAX_HR_BATCH,
        description="Applied in this order for each employee; each event is idempotent by its "
        "`event_id` and obeys the same field-level ordering as one sent alone.",
    )


class HrEventBatchBody(BaseModel):
    """How the endpoint first reads a batch: a list, each event then read on its own."""

    model_config = ConfigDict(extra="ignore")

    events: list[Any] = Field(min_length=1)


HR_BATCH_EXAMPLES: dict[str, Any] = {
    "batch": {
        "summary": "A hire and a termination in one request",
        "value": {
            "events": [
                HR_EVENT_EXAMPLES["hired"]["value"],
                {**HR_EVENT_EXAMPLES["terminated"]["value"], "employee_id": "e-0777"},
            ]
        },
    }
}


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str


class HrBatchItemResult(BaseModel):
    """What became of one event of a batch."""

    index: int = Field(description="Position of the event in the request's `events`, from 0.")
    status: int = Field(
        description="What the event alone would have been answered: 200 stored (or a repeat), "
        "422 refused as invalid (fix it, do not resend as is), 409 not stored now (resend it)."
    )
    event_id: str | None = None
    employee_id: str | None = None
    outcome: Literal["applied", "unchanged", "duplicate", "rejected", "conflict"] = Field(
        description="applied, unchanged, duplicate: as for one event; rejected: invalid; "
        "conflict: the employee changed too fast, resend this event."
    )
    version: int | None = Field(None, description="The employee record's version after this.")
    detail: str | None = Field(None, description="Why an event was refused or not stored.")
    errors: list[FieldProblem] | None = Field(None, description="The invalid fields, if any.")


class HrBatchResult(BaseModel):
    results: list[HrBatchItemResult] = Field(description="One per event, in request order.")
    applied: int
    unchanged: int
    duplicate: int
    rejected: int
    conflict: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "index": 0,
                            "status": 200,
                            "event_id": "hr-evt-000123",
                            "employee_id": "e-1001",
                            "outcome": "applied",
                            "version": 1,
                        },
                        {
                            "index": 1,
                            "status": 422,
                            "event_id": "hr-evt-000127",
                            "employee_id": "e-0777",
                            "outcome": "rejected",
                            "detail": "invalid input: employee.hired.employee.email: ...",
                            "errors": [
                                {
                                    "field": "employee.hired.employee.email",
                                    "message": "String should match pattern",
                                    "type": "string_pattern_mismatch",
                                }
                            ],
                        },
                    ],
                    "applied": 1,
                    "unchanged": 0,
                    "duplicate": 0,
                    "rejected": 1,
                    "conflict": 0,
                }
            ]
        }
    )


class EmployeeView(BaseModel):
    employee_id: str
    display_name: str | None
    email: str | None
    title: str | None = None
    level: str | None = None
    department: str | None = None
    location: str | None = None
    time_zone: str | None = None
    manager_id: str | None = None
    hire_date: date | None = None
    employment_status: EmploymentStatus | None
    erased: bool = False
    updated_at: datetime | None = None
    version: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "employee_id": "e-1001",
                    "display_name": "Ada Lovelace",
                    "email": "ada.lovelace@example.com",
                    "title": "Engineering Manager",
                    "level": "L5",
                    "department": "Engineering",
                    "location": "Berlin",
                    "time_zone": "Europe/Berlin",
                    "manager_id": "e-0042",
                    "hire_date": "2026-03-02",
                    "employment_status": "active",
                    "erased": False,
                    "updated_at": "2026-03-02T07:00:00Z",
                    "version": 1,
                }
            ]
        }
    )


class ImportRow(EmployeeProfile):
    """One row of a directory import: the employee as HR knows them now."""

    employee_id: EmployeeId
    display_name: str = Field(min_length=1, max_length=200)
    email: Email
    employment_status: EmploymentStatus = EmploymentStatus.ACTIVE


class RowError(BaseModel):
    row: int = Field(description="Line of the file (CSV: the header is line 1).")
    employee_id: str | None = None
    reason: str


class ImportReport(BaseModel):
    dry_run: bool
    full_snapshot: bool
    rows: int = Field(description="Data rows read.")
    created: int
    updated: int
    unchanged: int
    offboarded: int
    errors: list[RowError] = Field(description="Bad rows (the first 1,000), by line and reason.")
    error_count: int
    seconds: float

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dry_run": False,
                    "full_snapshot": True,
                    "rows": 3,
                    "created": 1,
                    "updated": 1,
                    "unchanged": 0,
                    "offboarded": 2,
                    "errors": [{"row": 4, "employee_id": "e-3", "reason": "email: invalid"}],
                    "error_count": 1,
                    "seconds": 0.12,
                }
            ]
        }
    )
