"""A program's messages (program admins): read, edit, reset to the default, preview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from reminders.program_messages.schemas import PreviewIn, PreviewOut, ProgramMessageOut, WordingIn
from reminders.program_messages.service import ProgramMessagesService
from roundtable_shared.auth.dependencies import ProgramAdmin
from roundtable_shared.events.catalogue.reminders import ReminderKind
from roundtable_shared.http.concurrency import etag, expected_version

ProgramId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
KindPath = Annotated[ReminderKind, Path(description="The kind of reminder.")]
IfMatch = Annotated[str | None, Header(alias="If-Match")]

_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "Not a program admin"},
    404: {"description": "No program of that id is known here"},
    422: {"description": "The wording uses what the sandbox does not allow; the problem says what"},
}
_EDIT_ERRORS: dict[int | str, dict[str, str]] = {
    **_ERRORS,
    412: {"description": "Changed since you read it"},
    428: {"description": "If-Match missing"},
}


def messages_router(service: ProgramMessagesService) -> APIRouter:
    router = APIRouter(prefix="/v1/programs/{program_id}/messages", tags=["program messages"])

    @router.get(
        "",
        summary="Every kind's current wording in this program",
        response_model=list[ProgramMessageOut],
        responses={403: _ERRORS[403], 404: _ERRORS[404]},
    )
    async def read_messages(_: ProgramAdmin, program_id: ProgramId) -> list[ProgramMessageOut]:
        return await service.read_all(program_id)

    @router.get(
        "/{kind}",
        summary="A kind's current wording (the program's own, or the default) and its variables",
        response_model=ProgramMessageOut,
        responses=_ERRORS,
    )
    async def read_message(
        response: Response, _: ProgramAdmin, program_id: ProgramId, kind: KindPath
    ) -> ProgramMessageOut:
        out = await service.read(program_id, kind)
        response.headers["ETag"] = etag(out.version)
        return out

    @router.put(
        "/{kind}",
        summary="Word a kind of message for this program",
        description='Send `If-Match` with the ETag you read (`"0"` before the first edit).',
        response_model=ProgramMessageOut,
        responses=_EDIT_ERRORS,
    )
    async def replace_message(
        response: Response,
        admin: ProgramAdmin,
        program_id: ProgramId,
        kind: KindPath,
        body: WordingIn,
        if_match: IfMatch = None,
    ) -> ProgramMessageOut:
        version = expected_version(if_match)
        out = await service.replace(program_id, kind, version, body, admin.employee_id)
        response.headers["ETag"] = etag(out.version)
        return out

    @router.delete(
        "/{kind}",
        summary="Reset a kind of message to the default wording",
        response_model=ProgramMessageOut,
        responses=_EDIT_ERRORS,
    )
    async def reset_message(
        response: Response,
        admin: ProgramAdmin,
        program_id: ProgramId,
        kind: KindPath,
        if_match: IfMatch = None,
    ) -> ProgramMessageOut:
        version = expected_version(if_match)
        out = await service.reset(program_id, kind, version, admin.employee_id)
        response.headers["ETag"] = etag(out.version)
        return out

    @router.post(
        "/{kind}/preview",
        summary="The message as a made-up participant would get it",
        response_model=PreviewOut,
        responses=_ERRORS,
    )
    async def preview_message(
        _: ProgramAdmin, program_id: ProgramId, kind: KindPath, body: PreviewIn
    ) -> PreviewOut:
        return await service.preview(program_id, kind, body)

    return router
