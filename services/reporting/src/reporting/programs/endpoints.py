"""GET /v1/programs: the programs the caller may see reports of (for the program picker)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from reporting.dependencies import Reads, Viewer
from reporting.programs.domain import ProgramCopy
from reporting.programs.service import visible_programs
from roundtable_shared.http.pagination import AfterId, Page, PageRequest, page_request

_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "program_id": "prg_2026_leadforward",
            "name": "LEADForward Roundtables 2026",
            "status": "running",
            "cadence": "biweekly",
        }
    ],
    "next_cursor": None,
}


def programs_router(reads: Reads) -> APIRouter:
    router = APIRouter(prefix="/v1/programs", tags=["programs"])

    @router.get(
        "",
        summary="Programs whose reports the caller may see",
        description="A sponsor gets the programs naming them as sponsor; a program admin all.",
        responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
    )
    async def list_programs(
        viewer: Viewer, page: Annotated[PageRequest, Depends(page_request)]
    ) -> Page[ProgramCopy]:
        models = await reads.models()
        position = page.position(AfterId)
        after = position.after if position else None
        programs = await visible_programs(models, viewer, after=after, limit=page.limit + 1)
        more = len(programs) > page.limit
        programs = programs[: page.limit]
        cursor = (
            page.next_cursor(AfterId(after=programs[-1].program_id)) if more and programs else None
        )
        return Page[ProgramCopy](items=programs, next_cursor=cursor)

    return router
