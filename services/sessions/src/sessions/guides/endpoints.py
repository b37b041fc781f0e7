"""HTTP routes of a program's session guide."""

from __future__ import annotations

from fastapi import APIRouter, Response

from roundtable_shared.auth.dependencies import CurrentPrincipal
from roundtable_shared.http.concurrency import etag, expected_version
from sessions.common import IfMatch
from sessions.guides.schemas import GuideIn, GuideOut
from sessions.guides.service import GuideService


def router(service: GuideService) -> APIRouter:
    api = APIRouter(prefix="/v1/programs/{program_id}/guide", tags=["session guide"])

    @api.get(
        "",
        response_model=GuideOut,
        summary="The program's session guide (its participants, sponsors and program admins)",
    )
    async def read_guide(
        program_id: str, principal: CurrentPrincipal, response: Response
    ) -> GuideOut:
        program_guide, guide = await service.read(program_id, principal)
        response.headers["ETag"] = etag(program_guide.version)
        return GuideOut.of(program_guide, guide)

    @api.put(
        "",
        response_model=GuideOut,
        summary="Replace the program's session guide (program admins; If-Match required)",
    )
    async def replace_guide(
        program_id: str,
        body: GuideIn,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> GuideOut:
        program_guide, guide = await service.replace(
            program_id, body.guide(), principal, expected_version(if_match)
        )
        response.headers["ETag"] = etag(program_guide.version)
        return GuideOut.of(program_guide, guide)

    @api.post(
        "/reset",
        response_model=GuideOut,
        summary="Go back to the built-in session guide (program admins; If-Match required)",
    )
    async def reset_guide(
        program_id: str, principal: CurrentPrincipal, response: Response, if_match: IfMatch = None
    ) -> GuideOut:
        program_guide, guide = await service.reset(
            program_id, principal, expected_version(if_match)
        )
        response.headers["ETag"] = etag(program_guide.version)
        return GuideOut.of(program_guide, guide)

    return api
