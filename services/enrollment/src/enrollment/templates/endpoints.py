"""Program template routes (program admins only): save, list, read, delete; a new program from a
template (``POST /v1/program-templates/{id}/programs``) or a clone of a program
(``POST /v1/programs/{id}/clone``), each a draft answered like ``POST /v1/programs``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from enrollment.programs.endpoints import program_view
from enrollment.programs.repository import StoredProgram
from enrollment.programs.schemas import ProgramView
from enrollment.templates.domain import NewProgram, ProgramTemplate
from enrollment.templates.schemas import TemplateSave, TemplateView
from enrollment.templates.service import TemplateService
from roundtable_shared.auth import ProgramAdmin
from roundtable_shared.http.concurrency import etag
from roundtable_shared.http.idempotency import IdempotencyKey, new_resource_id
from roundtable_shared.http.pagination import AfterId, Page, PageRequest, page_request

TEMPLATES = "/v1/program-templates"


def template_view(template: ProgramTemplate) -> TemplateView:
    return TemplateView(
        template_id=template.template_id,
        name=template.name,
        built_in=template.built_in,
        from_program_id=template.from_program_id,
        saved_at=template.saved_at,
        design=template.design,
    )


def templates_router(service: TemplateService) -> APIRouter:
    router = APIRouter(tags=["program templates"])

    def created(response: Response, loaded: StoredProgram) -> ProgramView:
        response.headers["ETag"] = etag(loaded.version)
        response.headers["Location"] = f"/v1/programs/{loaded.program.program_id}"
        return program_view(loaded)

    @router.get(TEMPLATES, summary="The built-in templates and your own")
    async def list_templates(
        admin: ProgramAdmin, page: Annotated[PageRequest, Depends(page_request)]
    ) -> Page[TemplateView]:
        position = page.position(AfterId)
        found = await service.page(
            admin.employee_id, position.after if position else None, page.limit
        )
        items = [template_view(t) for t in found]
        cursor = (
            page.next_cursor(AfterId(after=items[-1].template_id))
            if len(items) == page.limit
            else None
        )
        return Page[TemplateView](items=items, next_cursor=cursor)

    @router.post(
        TEMPLATES,
        status_code=201,
        summary="Save one of your programs as a template",
        description="Its settings, questions and matching rules; never its name, dates, "
        "sponsors, allow-list or anything of its enrolments. The sessions and reminders "
        "services keep a copy of the program's guide and messages under the template's id.",
    )
    async def save_template(
        body: TemplateSave,
        admin: ProgramAdmin,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> TemplateView:
        template_id = new_resource_id("program_template", admin.employee_id, idempotency_key)
        saved = await service.save(template_id, body.name, body.from_program_id, admin.employee_id)
        response.headers["Location"] = f"{TEMPLATES}/{template_id}"
        return template_view(saved)

    @router.get(TEMPLATES + "/{template_id}", summary="One template")
    async def get_template(template_id: str, admin: ProgramAdmin) -> TemplateView:
        return template_view(await service.get(template_id, admin.employee_id))

    @router.delete(
        TEMPLATES + "/{template_id}",
        status_code=204,
        summary="Delete one of your templates",
        description="409 for a built-in template; programs made from it keep what they copied.",
    )
    async def delete_template(template_id: str, admin: ProgramAdmin) -> Response:
        await service.delete(template_id, admin.employee_id)
        return Response(status_code=204)

    @router.post(
        TEMPLATES + "/{template_id}/programs",
        status_code=201,
        summary="Create a program from a template (as a draft)",
        description="The template's settings, questions and matching rules, with the name and "
        "dates given; its guide and messages follow in the sessions and reminders services.",
    )
    async def create_from_template(
        template_id: str,
        body: NewProgram,
        admin: ProgramAdmin,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> ProgramView:
        program_id = new_resource_id("program", admin.employee_id, idempotency_key)
        loaded = await service.create_program(template_id, admin.employee_id, program_id, body)
        return created(response, loaded)

    @router.post(
        "/v1/programs/{program_id}/clone",
        status_code=201,
        summary="Clone a program into a new draft",
        description="The program's settings, questions and matching rules (never its name, "
        "dates, sponsors, allow-list or enrolments), with the name and dates given; its guide "
        "and messages follow in the sessions and reminders services.",
    )
    async def clone_program(
        program_id: str,
        body: NewProgram,
        admin: ProgramAdmin,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> ProgramView:
        new_id = new_resource_id("program", admin.employee_id, idempotency_key)
        return created(response, await service.clone(program_id, new_id, body))

    return router
