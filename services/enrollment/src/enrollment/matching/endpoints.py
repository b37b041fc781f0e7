"""Matching routes (program admins): preview, look at a preview, publish it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from enrollment.matching.proposal import Proposal
from enrollment.matching.schemas import ProposalView
from enrollment.matching.service import MatchingService
from roundtable_shared.auth import ProgramAdmin


def proposal_view(proposal: Proposal) -> ProposalView:
    return ProposalView.model_validate(proposal.model_dump())


def matching_router(service: MatchingService) -> APIRouter:
    router = APIRouter(prefix="/v1/programs/{program_id}/matching", tags=["matching"])

    @router.post(
        "/previews",
        status_code=201,
        summary="Match the program's unassigned participants (a preview; nothing is formed yet)",
        description="Deterministic for the same participants. Each group carries the "
        "explanation of its score; who could not be placed is listed with the reason.",
    )
    async def preview(program_id: str, _admin: ProgramAdmin, response: Response) -> ProposalView:
        proposal = await service.preview(program_id)
        response.headers["Location"] = (
            f"/v1/programs/{program_id}/matching/previews/{proposal.proposal_id}"
        )
        return proposal_view(proposal)

    @router.get("/previews/{proposal_id}", summary="A preview")
    async def get_preview(program_id: str, proposal_id: str, _admin: ProgramAdmin) -> ProposalView:
        return proposal_view(await service.get_proposal(program_id, proposal_id))

    @router.post(
        "/previews/{proposal_id}/publish",
        summary="Form the previewed groups (emits group.formed); safe to retry",
        description="409 when enrolments changed since the preview (preview again).",
    )
    async def publish(program_id: str, proposal_id: str, _admin: ProgramAdmin) -> ProposalView:
        return proposal_view(await service.publish(program_id, proposal_id))

    return router
