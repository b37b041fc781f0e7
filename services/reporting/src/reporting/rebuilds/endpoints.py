"""Admin API of rebuilds: start one, follow its progress. Program admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from reporting.rebuilds.domain import RebuildProgress
from reporting.rebuilds.service import Rebuilds
from roundtable_shared.auth.dependencies import require_role
from roundtable_shared.auth.tokens import Principal, Role

Admin = Annotated[Principal, Depends(require_role(Role.PROGRAM_ADMIN))]
RebuildId = Annotated[
    str, Path(pattern=r"^g[0-9]{1,9}$", description="The generation rebuilt.", examples=["g2"])
]

_EXAMPLE: dict[str, Any] = {
    "rebuild_id": "g2",
    "phase": "replaying",
    "started_at": "2026-03-02T09:00:00Z",
    "finished_at": None,
    "replaced_generation": "g1",
    "streams": {
        "enrollment": {"end_at_start": 5120, "position": 3050, "events_applied": 3050},
        "sessions": {"end_at_start": 48210, "position": 12000, "events_applied": 11980},
        "reminders": {"end_at_start": 30110, "position": 30110, "events_applied": 30110},
    },
    "pruned_generations": [],
    "error": None,
}
_CONFLICT: dict[str, Any] = {
    "type": "https://roundtable.example/problems/conflict",
    "title": "Conflict",
    "status": 409,
    "detail": "rebuild g2 is still running",
    "rebuild_id": "g2",
}


def rebuilds_router(service: Rebuilds) -> APIRouter:
    router = APIRouter(prefix="/v1/admin/rebuilds", tags=["admin"])

    @router.post(
        "",
        status_code=202,
        summary="Rebuild the read models from the streams",
        description="Replays every producer's stream from its start into a fresh generation of the "
        "read models while the current one keeps answering, then swaps it in. Answers at once; follow "
        "the `Location`. 409 while a rebuild runs; 503 with Retry-After from a standby process "
        "(only the process applying events rebuilds).",
        responses={
            202: {"content": {"application/json": {"example": _EXAMPLE}}},
            409: {"content": {"application/problem+json": {"example": _CONFLICT}}},
        },
    )
    async def start_rebuild(_: Admin, response: Response) -> RebuildProgress:
        progress = await service.start()
        response.headers["Location"] = f"{router.prefix}/{progress.rebuild_id}"
        return progress

    @router.get(
        "/{rebuild_id}",
        summary="How far a rebuild got",
        description="Per stream: where it ended when the rebuild began, and where the replay is. "
        "`phase` goes replaying -> swapped -> done (or failed, with `error`).",
        responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
    )
    async def rebuild_progress(_: Admin, rebuild_id: RebuildId) -> RebuildProgress:
        return service.get(rebuild_id)

    return router
