"""Survey routes: program admins open, list and close a program's surveys; every participant
reads and answers the open surveys that ask them. Sponsors have nothing here (their figures
come from reporting)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from enrollment.surveys.domain import Survey, SurveyResponse, SurveyStatus
from enrollment.surveys.schemas import (
    MySurveyView,
    OpenedSurveys,
    ResponseEdit,
    ResponseView,
    SurveyAdminView,
    SurveyOpening,
)
from enrollment.surveys.service import SurveyService
from roundtable_shared.auth import CurrentPrincipal, ProgramAdmin
from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.idempotency import IdempotencyKey, new_resource_id
from roundtable_shared.http.pagination import AfterId, Page, PageRequest, page_request

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="Optional: the ETag of the response you changed."),
]


def admin_view(survey: Survey, version: int, responded: int, now: datetime) -> SurveyAdminView:
    return SurveyAdminView(
        **survey.model_dump(exclude={"asked", "status", "close_reason"}),
        status=SurveyStatus.OPEN if survey.is_open(now) else SurveyStatus.CLOSED,
        asked=len(survey.asked),
        responded=responded,
        version=version,
    )


def response_view(response: SurveyResponse, version: int) -> ResponseView:
    return ResponseView(
        response_id=response.response_id,
        survey_id=response.survey_id,
        answers=response.answers,
        answered_at=response.answered_at,
        version=version,
    )


def surveys_router(service: SurveyService) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["surveys"])

    @router.post(
        "/programs/{program_id}/surveys",
        status_code=201,
        summary="Open a survey of the program (a pulse: one per active group, or for one group)",
        description="Asks the participants holding a seat now (a pulse: the group's members). "
        "409 for a draft or closed program, nobody to ask, or a survey of the same kind (and "
        "group) still open; 422 naming the question for a bad question of your own. A retry "
        "with the same Idempotency-Key answers the surveys first opened.",
    )
    async def open_survey(
        program_id: str,
        body: SurveyOpening,
        admin: ProgramAdmin,
        idempotency_key: IdempotencyKey = None,
    ) -> OpenedSurveys:
        survey_id = new_resource_id("survey", admin.employee_id, idempotency_key)
        opened = await service.open(program_id, body, survey_id)
        now = service.clock()
        return OpenedSurveys(
            surveys=[admin_view(s, v, await service.responded(s.survey_id), now) for s, v in opened]
        )

    @router.get(
        "/programs/{program_id}/surveys",
        summary="A program's surveys with how many were asked and answered (admins)",
        description="Counts only: no one's answers, and never the words of a short-text answer.",
    )
    async def program_surveys(
        program_id: str,
        _admin: ProgramAdmin,
        page: Annotated[PageRequest, Depends(page_request)],
    ) -> Page[SurveyAdminView]:
        position = page.position(AfterId)
        found = await service.of_program(
            program_id, position.after if position else None, page.limit
        )
        now = service.clock()
        items = [admin_view(s, v, n, now) for s, v, n in found]
        cursor = (
            page.next_cursor(AfterId(after=items[-1].survey_id))
            if len(items) == page.limit
            else None
        )
        return Page[SurveyAdminView](items=items, next_cursor=cursor)

    @router.post(
        "/programs/{program_id}/surveys/{survey_id}/close",
        summary="Close a survey now (admins); closing a closed one changes nothing",
    )
    async def close_survey(
        program_id: str, survey_id: str, _admin: ProgramAdmin
    ) -> SurveyAdminView:
        survey, version = await service.close(program_id, survey_id)
        return admin_view(survey, version, await service.responded(survey_id), service.clock())

    @router.get("/me/surveys", summary="The open surveys that ask me, with my answers")
    async def my_surveys(principal: CurrentPrincipal) -> list[MySurveyView]:
        return [
            MySurveyView(
                survey_id=s.survey_id,
                program_id=s.program_id,
                kind=s.kind,
                group_id=s.group_id,
                questions=s.questions,
                closes_at=s.closes_at,
                response=response_view(*answered) if answered else None,
            )
            for s, answered in await service.mine(principal.employee_id)
        ]

    @router.put(
        "/me/surveys/{survey_id}/response",
        summary="Answer a survey, or change my answers while it is open",
        description="404 unless the survey asks me (and my enrolment is active); 409 once it "
        "closed; 422 naming the question; If-Match optional (412 when stale). The same "
        "response id every time, with a later answered_at when the answers changed.",
    )
    async def answer_survey(
        survey_id: str,
        body: ResponseEdit,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> ResponseView:
        expected = expected_version(if_match) if if_match is not None else None
        answered, version, created = await service.answer(
            principal.employee_id, survey_id, body.answers, expected
        )
        if created:
            response.status_code = 201
        response.headers["ETag"] = etag(version)
        return response_view(answered, version)

    return router
