"""Program routes (program admins write; every employee reads)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response

from enrollment.programs.repository import StoredProgram
from enrollment.programs.schemas import ProgramCreate, ProgramPatch, ProgramView
from enrollment.programs.service import ProgramService
from roundtable_shared.auth import CurrentPrincipal, ProgramAdmin
from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.idempotency import IdempotencyKey, new_resource_id
from roundtable_shared.http.pagination import AfterId, Page, PageRequest, page_request
from roundtable_shared.http.problems import NotFound

IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="The ETag of the version you edited.")
]


def program_view(found: StoredProgram) -> ProgramView:
    program = found.program
    return ProgramView(
        **program.settings.model_dump(),
        program_id=program.program_id,
        status=program.status,
        created_at=program.created_at,
        enrolled_count=found.enrolled_count,
        version=found.version,
        copied_from=program.copied_from,
    )


def programs_router(service: ProgramService) -> APIRouter:
    router = APIRouter(prefix="/v1/programs", tags=["programs"])

    def answer(response: Response, loaded: StoredProgram) -> ProgramView:
        response.headers["ETag"] = etag(loaded.version)
        return program_view(loaded)

    @router.post("", status_code=201, summary="Create a program (as a draft)")
    async def create_program(
        body: ProgramCreate,
        admin: ProgramAdmin,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> ProgramView:
        program_id = new_resource_id("program", admin.employee_id, idempotency_key)
        loaded = await service.create(program_id, body)
        response.headers["Location"] = f"/v1/programs/{program_id}"
        return answer(response, loaded)

    @router.get("", summary="Programs, by id (admins see drafts too)")
    async def list_programs(
        principal: CurrentPrincipal, page: Annotated[PageRequest, Depends(page_request)]
    ) -> Page[ProgramView]:
        position = page.position(AfterId)
        after = position.after if position else None
        statuses = None if principal.has_role("program_admin") else ["open", "running", "closed"]
        found = await service.programs.page(after, page.limit, statuses)
        items = [program_view(f) for f in found]
        cursor = (
            page.next_cursor(AfterId(after=items[-1].program_id))
            if len(items) == page.limit
            else None
        )
        return Page[ProgramView](items=items, next_cursor=cursor)

    @router.get("/{program_id}", summary="One program")
    async def get_program(
        program_id: str, principal: CurrentPrincipal, response: Response
    ) -> ProgramView:
        loaded = await service.get(program_id)
        if loaded.program.status.value == "draft" and not principal.has_role("program_admin"):
            raise NotFound(f"no program {program_id}")
        return answer(response, loaded)

    @router.patch(
        "/{program_id}",
        summary="Edit a draft or open program (merge patch, If-Match required)",
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/ProgramPatch"},
                        "example": {"capacity": 150},
                    }
                }
            }
        },
    )
    async def edit_program(
        program_id: str,
        body: ProgramPatch,
        _admin: ProgramAdmin,
        response: Response,
        if_match: IfMatch = None,
    ) -> ProgramView:
        patch: dict[str, Any] = body.model_dump(exclude_unset=True)
        loaded = await service.edit(program_id, expected_version(if_match), patch)
        return answer(response, loaded)

    for action, summary in (
        ("open", "Open for enrolment (draft -> open)"),
        ("start", "Start: groups meet (open -> running)"),
        ("close", "Close (draft, open or running -> closed)"),
    ):
        _transition_route(router, service, action, summary, answer)
    return router


def _transition_route(
    router: APIRouter, service: ProgramService, action: str, summary: str, answer: Any
) -> None:
    async def move(
        program_id: str, _admin: ProgramAdmin, response: Response, if_match: IfMatch = None
    ) -> ProgramView:
        expected = expected_version(if_match) if if_match is not None else None
        loaded = await service.transition(program_id, action, expected)
        view: ProgramView = answer(response, loaded)
        return view

    router.add_api_route(
        f"/{{program_id}}/{action}",
        move,
        methods=["POST"],
        summary=summary,
        description="409 when the program's status does not allow it; If-Match optional.",
        name=f"{action}_program",
        response_model=ProgramView,
    )
