"""FastAPI dependencies every reporting router shares: the live read models, the viewer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from reporting.projections.generations import Generations
from reporting.projections.readmodel import ReadModels
from roundtable_shared.auth.dependencies import require_role
from roundtable_shared.auth.tokens import Principal, Role


def generations(request: Request) -> Generations:
    found = getattr(request.app.state, "generations", None)
    if not isinstance(found, Generations):
        raise RuntimeError("app.state.generations is not set")  # a wiring bug
    return found


async def current_models(request: Request) -> ReadModels:
    return await generations(request).current()


def k_anonymity(request: Request) -> int:
    return int(request.app.state.settings.k_anonymity)


Models = Annotated[ReadModels, Depends(current_models)]
K = Annotated[int, Depends(k_anonymity)]
Viewer = Annotated[Principal, Depends(require_role(Role.SPONSOR, Role.PROGRAM_ADMIN))]
"""A sponsor (their programs only) or a program admin (every program)."""
