"""GET /v1/programs/{id}/outcomes: the sponsors' outcome figures (surveys, NPS, pre/post
change, pulse means, retention against the company), every one under the disclosure rule."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from reporting.dependencies import Reads, Viewer
from reporting.outcomes import domain, service

ProgramId = Annotated[str, Path(min_length=1, max_length=128, examples=["prg_2026_leadforward"])]

# As a sponsor sees it (k = 5): counts in steps of 5, averages only of closed surveys.
OUTCOMES_EXAMPLE: dict[str, Any] = {
    "program_id": "prg_2026_leadforward",
    "surveys": [
        {
            "survey_id": "srv_51c2",
            "kind": "post_program",
            "group_id": None,
            "status": "closed",
            "opened_at": "2026-06-01T08:00:00+00:00",
            "closes_at": "2026-06-15T08:00:00+00:00",
            "asked": 40,
            "responses": 30,
            "response_rate": 0.75,
            "nps": {"answers": 30, "score": 42.9},
            "means": [
                {
                    "question_id": "confidence",
                    "label": "How confident are you as a leader?",
                    "answers": 30,
                    "mean": 4.1,
                }
            ],
        }
    ],
    "nps": {"answers": 30, "score": 42.9},
    "pre_post": [
        {
            "question_id": "confidence",
            "label": "How confident are you as a leader?",
            "pre_answers": 35,
            "pre_mean": 3.4,
            "post_answers": 30,
            "post_mean": 4.1,
            "change": 0.7,
        }
    ],
    "pulse": [
        {"question_id": "trust", "label": "I can be open in my group", "answers": 25, "mean": 4.4}
    ],
    "retention": {
        "since": "2026-02-01T09:00:00+00:00",
        "participants": 40,
        "participants_terminated": 0,
        "participants_terminated_share": 0.0,
        "others": 1200,
        "others_terminated": 45,
        "others_terminated_share": 0.0375,
    },
}


def outcomes_router(reads: Reads) -> APIRouter:
    router = APIRouter(prefix="/v1/programs/{program_id}", tags=["outcomes"])

    @router.get(
        "/outcomes",
        summary="The program's outcome figures: surveys, NPS, pre/post change, retention",
        description=(
            "Sponsors of the program and program admins. Every count is released in steps of "
            "k; averages and NPS only of closed surveys with at least k answers to the "
            "question (docs/outcomes.md)."
        ),
        responses={
            200: {"content": {"application/json": {"example": OUTCOMES_EXAMPLE}}},
            403: {"description": "Neither a sponsor nor a program admin"},
            404: {"description": "No such program among those the caller may see"},
        },
    )
    async def get_outcomes(program_id: ProgramId, viewer: Viewer) -> domain.Outcomes:
        models = await reads.models()
        return await service.outcomes(models, viewer, program_id, reads.disclosure())

    return router
