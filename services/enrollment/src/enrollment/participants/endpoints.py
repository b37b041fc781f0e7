"""Enrolment routes: eligibility, enrol, see, edit and withdraw one's own enrolments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from enrollment.participants.domain import Participant
from enrollment.participants.schemas import EnrolmentRequest, ParticipantView, WithdrawRequest
from enrollment.participants.service import ParticipantService
from enrollment.programs.schemas import EligibilityView
from roundtable_shared.auth import CurrentPrincipal, ProgramAdmin, Role
from roundtable_shared.auth.tokens import Principal
from roundtable_shared.events.catalogue.enrollment import WithdrawReason
from roundtable_shared.http.concurrency import etag, expected_version
from roundtable_shared.http.idempotency import IdempotencyKey
from roundtable_shared.http.problems import Forbidden

IfMatch = Annotated[str | None, Header(alias="If-Match")]


def participants_router(service: ParticipantService) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["enrolments"])

    async def view(participant: Participant, version: int) -> ParticipantView:
        return ParticipantView(
            **participant.model_dump(
                exclude={"reporting_attributes", "waitlist_number", "withdrawn_reason"}
            ),
            withdrawal_reason=participant.withdrawn_reason,
            waitlist_position=await service.position(participant),
            version=version,
        )

    async def owned(pid: str, principal: Principal) -> tuple[Participant, int]:
        participant, version = await service.get(pid)
        if participant.employee_id != principal.employee_id and not principal.has_role(
            Role.PROGRAM_ADMIN
        ):
            raise Forbidden("this is someone else's enrolment")
        return participant, version

    @router.get(
        "/me/programs",
        summary="Open programs, and whether I may enrol in each (with the reasons if not)",
    )
    async def my_programs(principal: CurrentPrincipal) -> list[EligibilityView]:
        return [
            EligibilityView(
                program_id=program.program_id,
                name=program.settings.name,
                status=program.status,
                eligible=not reasons,
                reasons=reasons,
                questions=program.settings.questions,
            )
            for program, reasons in await service.eligibility(principal.employee_id)
        ]

    @router.post(
        "/programs/{program_id}/enrolments",
        status_code=201,
        summary="Enrol myself (or join the waitlist when the program is full)",
        description="403 with the reasons when not eligible; 409 when already enrolled or the "
        "enrolment window is closed. A retry with the same Idempotency-Key returns the first "
        "result (200).",
    )
    async def enrol(
        program_id: str,
        body: EnrolmentRequest,
        principal: CurrentPrincipal,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> ParticipantView:
        participant, version, created = await service.enrol(
            program_id, principal.employee_id, body, idempotency_key
        )
        if not created:
            response.status_code = 200
        response.headers["ETag"] = etag(version)
        response.headers["Location"] = f"/v1/participants/{participant.participant_id}"
        return await view(participant, version)

    @router.get("/me/enrolments", summary="My enrolments")
    async def my_enrolments(principal: CurrentPrincipal) -> list[ParticipantView]:
        found = await service.enrolments_of(principal.employee_id)
        return [await view(p, v) for p, v in found]

    @router.get("/programs/{program_id}/participants", summary="A program's participants (admins)")
    async def program_participants(program_id: str, _admin: ProgramAdmin) -> list[ParticipantView]:
        found = await service.participants.of_program(program_id, limit=5000)
        return [await view(p, v) for p, v in found]

    @router.get("/participants/{participant_id}", summary="One enrolment (its owner or admins)")
    async def get_participant(
        participant_id: str, principal: CurrentPrincipal, response: Response
    ) -> ParticipantView:
        participant, version = await owned(participant_id, principal)
        response.headers["ETag"] = etag(version)
        return await view(participant, version)

    @router.put(
        "/participants/{participant_id}/answers",
        summary="Replace my enrolment answers (If-Match required)",
    )
    async def edit_answers(
        participant_id: str,
        body: EnrolmentRequest,
        principal: CurrentPrincipal,
        response: Response,
        if_match: IfMatch = None,
    ) -> ParticipantView:
        participant, version = await service.edit(
            participant_id, principal.employee_id, expected_version(if_match), body
        )
        response.headers["ETag"] = etag(version)
        return await view(participant, version)

    @router.post(
        "/participants/{participant_id}/withdraw",
        summary="Withdraw (the participant, or an admin); leaves the group too",
    )
    async def withdraw(
        participant_id: str,
        principal: CurrentPrincipal,
        response: Response,
        body: WithdrawRequest | None = None,
        if_match: IfMatch = None,
    ) -> ParticipantView:
        participant, _ = await owned(participant_id, principal)
        own = participant.employee_id == principal.employee_id
        reason = WithdrawReason.SELF if own else (body.reason if body and body.reason else None)
        reason = reason or WithdrawReason.ADMIN
        expected = expected_version(if_match) if if_match is not None else None
        participant, version = await service.withdraw(participant_id, reason, expected)
        response.headers["ETag"] = etag(version)
        return await view(participant, version)

    return router
