"""HTTP routes of a program's session guide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from roundtable_shared.auth.dependencies import CurrentPrincipal
from roundtable_shared.http.concurrency import etag, expected_version
from sessions.common import IfMatch
from sessions.guides.schemas import GuideIn, GuideOut
from sessions.guides.service import GuideService

ProgramId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]

_READ_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "Not a participant or sponsor of the program, nor a program admin"},
    404: {"description": "No program of that id is known here"},
}
_EDIT_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "Not a program admin"},
    404: _READ_ERRORS[404],
    412: {"description": "Changed since you read it"},
    428: {"description": "If-Match missing"},
}


def router(service: GuideService) -> APIRouter:
    api = APIRouter(prefix="/v1/programs/{program_id}/guide", tags=["session guide"])

    @api.get(
        "",
        response_model=GuideOut,
        responses=_READ_ERRORS,
        summary="The program's session guide (its participants, sponsors and program admins)",
    )
    async def read_guide(
        program_id: ProgramId, principal: CurrentPrincipal, response: Response
    ) -> GuideOut:
        program_guide, guide = await service.read(program_id, principal)
        response.headers["ETag"] = etag(program_guide.version)
        return GuideOut.of(program_guide, guide)

    @api.put(
        "",
        response_model=GuideOut,
        responses={
            **_EDIT_ERRORS,
            422: {"description": "The guide is invalid; the problem names the field"},
        },
        summary="Replace the program's session guide (program admins; If-Match required)",
    )
    async def replace_guide(
        program_id: ProgramId,
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

    @api.delete(
        "",
        response_model=GuideOut,
        responses=_EDIT_ERRORS,
        summary="Reset to the built-in session guide (program admins; If-Match required)",
    )
    async def reset_guide(
        program_id: ProgramId,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> GuideOut:
        # The version goes on growing, so an edit based on the guide before the reset is stale.
        program_guide, guide = await service.reset(
            program_id, principal, expected_version(if_match)
        )
        response.headers["ETag"] = etag(program_guide.version)
        return GuideOut.of(program_guide, guide)

    return api
