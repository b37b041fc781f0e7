"""Broadcasts (program admins): a message to a program's participants, or those of one status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from reminders.broadcasts.schemas import BroadcastIn, BroadcastOut
from reminders.broadcasts.service import BroadcastService
from roundtable_shared.auth.dependencies import ProgramAdmin
from roundtable_shared.http.idempotency import IdempotencyKey

ProgramId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
BroadcastId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


def broadcasts_router(service: BroadcastService) -> APIRouter:
    router = APIRouter(prefix="/v1/programs/{program_id}/broadcasts", tags=["broadcasts"])

    @router.post(
        "",
        summary="Send a message to the program's participants (or those of one status)",
        description=(
            "Requires `Idempotency-Key`: a retry with the same key and body returns the first "
            "answer (200) and sends nothing again. Each person gets it once, on their channels, "
            "after their quiet hours and snooze, in their digest if they take one."
        ),
        response_model=BroadcastOut,
        status_code=201,
        responses={
            200: {"description": "A retry: the broadcast already sent with this key"},
            400: {"description": "No Idempotency-Key"},
            403: {"description": "Not a program admin"},
            404: {"description": "No program of that id is known here"},
            409: {"description": "The program is closed"},
            422: {
                "description": "The wording uses what the sandbox does not allow, or the key was "
                "used with another request"
            },
        },
    )
    async def send_broadcast(
        response: Response,
        admin: ProgramAdmin,
        program_id: ProgramId,
        body: BroadcastIn,
        idempotency_key: IdempotencyKey = None,
    ) -> BroadcastOut:
        out, created = await service.send(program_id, body, idempotency_key, admin.employee_id)
        if not created:
            response.status_code = 200
        return out

    @router.get(
        "/{broadcast_id}",
        summary="A broadcast sent in this program",
        response_model=BroadcastOut,
        responses={403: {}, 404: {}},
    )
    async def read_broadcast(
        _: ProgramAdmin, program_id: ProgramId, broadcast_id: BroadcastId
    ) -> BroadcastOut:
        return await service.read(program_id, broadcast_id)

    return router
