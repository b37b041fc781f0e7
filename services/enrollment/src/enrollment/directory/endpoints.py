"""Directory routes: the HR webhook, the bulk import, employees and erasure."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError

from enrollment.directory.batch import Stored, apply_hr_batch
from enrollment.directory.domain import Employee
from enrollment.directory.parsing import csv_rows, ndjson_rows
from enrollment.directory.schemas import (
    HR_BATCH_EXAMPLES,
    HR_EVENT_EXAMPLES,
    MAX_HR_BATCH,
    EmployeeView,
    FieldProblem,
    HrBatchItemResult,
    HrBatchResult,
    HrEvent,
    HrEventBatch,
    HrEventBatchBody,
    HrEventResult,
    ImportReport,
)
from enrollment.directory.service import DirectoryService
from roundtable_shared.auth import CurrentPrincipal, ProgramAdmin, Role, verified_webhook_body
from roundtable_shared.http.pagination import AfterId, Page, PageRequest, page_request
from roundtable_shared.http.problems import (
    Forbidden,
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
)
from roundtable_shared.http.validation import input_problem, parse_json_body

_HR_EVENT = TypeAdapter[HrEvent](HrEvent)
_HR_BATCH = TypeAdapter(HrEventBatchBody)
HR_BATCH_PATH = "/v1/hr/events/batch"

CSV_TYPES = {"text/csv", "application/csv"}
NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl"}


def employee_view(employee: Employee, version: int) -> EmployeeView:
    profile = employee.profile
    return EmployeeView(
        employee_id=employee.employee_id,
        display_name=profile.get("display_name"),
        email=profile.get("email"),
        title=profile.get("title"),
        level=profile.get("level"),
        department=profile.get("department"),
        location=profile.get("location"),
        time_zone=profile.get("time_zone"),
        manager_id=profile.get("manager_id"),
        hire_date=profile.get("hire_date"),
        employment_status=employee.employment_status,
        erased=employee.erased,
        updated_at=employee.updated_at,
        version=version,
    )


def directory_router(service: DirectoryService, hr_secrets: list[str]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["directory"])
    signed_body = verified_webhook_body(lambda _request: hr_secrets or None)

    @router.post(
        "/hr/events",
        summary="HR webhook: a hire, a change, a leave or a termination",
        description=(
            "Signed with HMAC-SHA256 over `<timestamp>.<body>` (headers `X-Roundtable-Timestamp`, "
            "`X-Roundtable-Signature: sha256=<hex>`), five-minute replay window. Answered 200 "
            "only once the change is stored. A repeated `event_id` answers 200 `duplicate` and "
            "changes nothing; a change older than what is stored answers 200 `unchanged`."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/HrEventBody"},
                        "examples": HR_EVENT_EXAMPLES,
                    }
                },
            }
        },
    )
    async def receive_hr_event(body: bytes = Depends(signed_body)) -> HrEventResult:
        hr_event = parse_json_body(_HR_EVENT, body)
        outcome, version = await service.apply_hr_event(hr_event)
        return HrEventResult(
            event_id=hr_event.event_id,
            employee_id=hr_event.employee_id,
            outcome=outcome,
            version=version,
        )

    @router.post(
        HR_BATCH_PATH.removeprefix("/v1"),
        summary="HR webhook: a batch of up to 1,000 hires, changes, leaves and terminations",
        description=(
            "Signed exactly as one event is (HMAC-SHA256 over `<timestamp>.<body>`, the same "
            'headers and replay window), the body `{"events": [...]}` holding 1 to 1,000 '
            "events of the single-event webhook (more: 413, split the batch). Answered 200 once "
            "every valid event is stored, with one result per event in request order: each "
            "event is idempotent by its `event_id`, one employee's events apply in the batch's "
            "order under the same field-level ordering as events sent alone, and an invalid "
            "event is refused on its own (`rejected`, 422 with its fields) without refusing "
            "the others. An event answered `conflict` (409) was not stored: resend it."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/HrEventBatch"},
                        "examples": HR_BATCH_EXAMPLES,
                    }
                },
            }
        },
    )
    async def receive_hr_batch(body: bytes = Depends(signed_body)) -> HrBatchResult:
        raw_events = parse_json_body(_HR_BATCH, body).events
        if len(raw_events) > MAX_HR_BATCH:
            raise PayloadTooLarge(
                f"a batch holds at most {MAX_HR_BATCH} events, this one {len(raw_events)}: split it"
            )
        refused: dict[int, HrBatchItemResult] = {}
        valid: list[tuple[int, HrEvent]] = []
        for index, raw in enumerate(raw_events):
            try:
                valid.append((index, _HR_EVENT.validate_python(raw)))
            except ValidationError as exc:
                refused[index] = _item_result(index, raw, input_problem(exc.errors()))
        stored = await apply_hr_batch(service, valid)
        parsed = dict(valid)
        return _batch_result(
            [
                refused[index]
                if index in refused
                else _item_result(index, parsed[index], stored[index])
                for index in range(len(raw_events))
            ]
        )

    @router.post(
        "/directory/imports",
        summary="Bulk directory import (CSV or NDJSON), streamed",
        description=(
            "Body: `text/csv` with a header row, or `application/x-ndjson`, one employee per row "
            "(`employee_id`, `display_name`, `email`, `title`, `level`, `department`, "
            "`location`, `time_zone`, `manager_id`, `hire_date`, `employment_status`). Good rows "
            "go in, bad rows are reported by line. Re-importing the same file changes nothing. "
            "`full_snapshot=true` offboards active employees the file does not list; "
            "`dry_run=true` only reports what would change."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {
                        "schema": {"type": "string"},
                        "example": "employee_id,display_name,email,level,department,time_zone\n"
                        "e-1001,Ada Lovelace,ada@example.com,L5,Engineering,Europe/Berlin\n",
                    },
                    "application/x-ndjson": {
                        "schema": {"type": "string"},
                        "example": '{"employee_id":"e-1001","display_name":"Ada Lovelace",'
                        '"email":"ada@example.com"}\n',
                    },
                },
            }
        },
    )
    async def import_directory(
        request: Request,
        _admin: ProgramAdmin,
        dry_run: Annotated[bool, Query(description="Report only; write nothing.")] = False,
        full_snapshot: Annotated[
            bool, Query(description="The file lists every employee: offboard the others.")
        ] = False,
        as_of: Annotated[
            AwareDatetime | None,
            Query(
                description="Effective time of the file's data; default now. Not in the future "
                "(five minutes of clock skew allowed): 422."
            ),
        ] = None,
    ) -> ImportReport:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type in CSV_TYPES:
            parser = csv_rows
        elif media_type in NDJSON_TYPES:
            parser = ndjson_rows
        else:
            raise UnsupportedMediaType("send text/csv or application/x-ndjson")
        return await service.import_rows(
            parser(request.stream()),
            as_of=as_of,
            dry_run=dry_run,
            full_snapshot=full_snapshot,
            import_id=uuid.uuid4().hex,
        )

    @router.get("/employees", summary="The directory, by employee id (program admins)")
    async def list_employees(
        _admin: ProgramAdmin, page: Annotated[PageRequest, Depends(page_request)]
    ) -> Page[EmployeeView]:
        position = page.position(AfterId)
        after = position.after if position else None
        found = await service.employees.page(after, page.limit)
        items = [employee_view(e, v) for e, v in found]
        cursor = (
            page.next_cursor(AfterId(after=items[-1].employee_id))
            if len(items) == page.limit
            else None
        )
        return Page[EmployeeView](items=items, next_cursor=cursor)

    @router.get(
        "/employees/{employee_id}",
        summary="One employee's directory record (themself, or a program admin)",
    )
    async def get_employee(employee_id: str, principal: CurrentPrincipal) -> EmployeeView:
        if principal.employee_id != employee_id and not principal.has_role(Role.PROGRAM_ADMIN):
            raise Forbidden("you may only see your own directory record")
        employee, version = await service.get(employee_id)
        return employee_view(employee, version)

    @router.post(
        "/employees/{employee_id}/erasure",
        summary="Erase an employee's personal data (emits employee.erased)",
        description="Idempotent. The id stays (opaque) so counts stay right; every service "
        "removes or pseudonymises the person when it sees `employee.erased`.",
    )
    async def erase_employee(employee_id: str, _admin: ProgramAdmin) -> EmployeeView:
        employee, version = await service.erase(employee_id)
        return employee_view(employee, version)

    return router


def _item_result(index: int, event: Any, answer: Stored | Problem) -> HrBatchItemResult:
    """One event's result; ``event`` is the parsed event, or what was sent when it was invalid."""
    event_id, employee_id = _ids(event)
    if isinstance(answer, Stored):
        return HrBatchItemResult(
            index=index,
            status=200,
            event_id=event_id,
            employee_id=employee_id,
            outcome=answer.outcome,
            version=answer.version,
        )
    errors = answer.extensions.get("errors")
    return HrBatchItemResult(
        index=index,
        status=answer.status,
        event_id=event_id,
        employee_id=employee_id,
        outcome="conflict" if answer.status == 409 else "rejected",
        detail=answer.detail,
        errors=[FieldProblem.model_validate(e) for e in errors] if errors else None,
    )


def _ids(event: Any) -> tuple[str | None, str | None]:
    """The event's ids, also from an invalid event where they are there (strings, bounded)."""
    if isinstance(event, BaseModel):
        return event.event_id, event.employee_id  # type: ignore[attr-defined]
    if not isinstance(event, dict):
        return None, None
    found = [event.get(key) for key in ("event_id", "employee_id")]
    event_id, employee_id = (v if isinstance(v, str) and len(v) <= 200 else None for v in found)
    return event_id, employee_id


def _batch_result(results: list[HrBatchItemResult]) -> HrBatchResult:
    counts = {
        outcome: 0 for outcome in ("applied", "unchanged", "duplicate", "rejected", "conflict")
    }
    for result in results:
        counts[result.outcome] += 1
    return HrBatchResult(results=results, **counts)


def hr_batch_schema() -> dict[str, Any]:
    return HrEventBatch.model_json_schema(ref_template="#/components/schemas/{model}")


def hr_event_schema() -> dict[str, Any]:
    return _HR_EVENT.json_schema(ref_template="#/components/schemas/{model}")
