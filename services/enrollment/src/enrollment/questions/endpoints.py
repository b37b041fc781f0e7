"""Enrolment question routes: admins define them, every employee reads an open program's."""

from __future__ import annotations

from fastapi import APIRouter, Response

from enrollment.programs.endpoints import IfMatch
from enrollment.programs.repository import StoredProgram
from enrollment.programs.service import ProgramService
from enrollment.questions.schemas import QuestionsEdit, QuestionsView
from roundtable_shared.auth import CurrentPrincipal, ProgramAdmin
from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.problems import NotFound


def questions_router(service: ProgramService) -> APIRouter:
    router = APIRouter(prefix="/v1/programs/{program_id}/questions", tags=["questions"])

    def answer(response: Response, loaded: StoredProgram) -> QuestionsView:
        response.headers["ETag"] = etag(loaded.version)
        return QuestionsView(
            program_id=loaded.program.program_id,
            questions=loaded.program.settings.questions,
            version=loaded.version,
        )

    @router.get("", summary="A program's enrolment questions")
    async def get_questions(
        program_id: str, principal: CurrentPrincipal, response: Response
    ) -> QuestionsView:
        loaded = await service.get(program_id)
        if loaded.program.status.value == "draft" and not principal.has_role("program_admin"):
            raise NotFound(f"no program {program_id}")
        return answer(response, loaded)

    @router.put(
        "",
        summary="Replace a draft or open program's enrolment questions (If-Match required)",
        description="The ETag is the program's. 422 names the offending question (duplicate "
        "ids, a matching rule left without its question, a scale whose max is not above its "
        "min); 409 once the program runs.",
    )
    async def replace_questions(
        program_id: str,
        body: QuestionsEdit,
        _admin: ProgramAdmin,
        response: Response,
        if_match: IfMatch = None,
    ) -> QuestionsView:
        patch = {"questions": body.model_dump()["questions"]}
        loaded = await service.edit(program_id, expected_version(if_match), patch)
        return answer(response, loaded)

    return router
