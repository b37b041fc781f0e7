"""HTTP routes of feedback."""

from __future__ import annotations

from fastapi import APIRouter, Response

from roundtable_shared.auth.dependencies import CurrentPrincipal
from sessions.feedback.schemas import FeedbackOut, FeedbackRequest, FeedbackSummary
from sessions.feedback.service import FeedbackService


def router(service: FeedbackService) -> APIRouter:
    api = APIRouter(prefix="/v1/sessions/{session_id}/feedback", tags=["feedback"])

    @api.post(
        "",
        status_code=201,
        response_model=FeedbackOut,
        responses={200: {"description": "The same answer sent again: the first one"}},
        summary="Rate a session you attended, once (1 to 5, optional comment only you see)",
    )
    async def submit(
        session_id: str, body: FeedbackRequest, principal: CurrentPrincipal, response: Response
    ) -> FeedbackOut:
        feedback, new = await service.submit(session_id, body, principal)
        if not new:
            response.status_code = 200
        return FeedbackOut.of(feedback)

    @api.get("/mine", response_model=FeedbackOut, summary="Your feedback on a session")
    async def mine(session_id: str, principal: CurrentPrincipal) -> FeedbackOut:
        return FeedbackOut.of(await service.mine(session_id, principal))

    @api.get(
        "/summary",
        response_model=FeedbackSummary,
        summary="How many rated the session (members and program admins); no rating is shown",
    )
    async def summary(session_id: str, principal: CurrentPrincipal) -> FeedbackSummary:
        return await service.summary(session_id, principal)

    return api
