"""FastAPI dependencies every reporting router shares: the live read models, the viewer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from reporting.disclosure.domain import DisclosureRule
from reporting.projections.generations import Generations
from reporting.projections.readmodel import ReadModels
from roundtable_shared.auth.dependencies import require_role
from roundtable_shared.auth.tokens import Principal, Role
from roundtable_shared.clock import Clock


def generations(request: Request) -> Generations:
    found = getattr(request.app.state, "generations", None)
    if not isinstance(found, Generations):
        raise RuntimeError("app.state.generations is not set")  # a wiring bug
    return found


async def current_models(request: Request) -> ReadModels:
    return await generations(request).current()


def clock(request: Request) -> Clock:
    found: Clock | None = getattr(request.app.state, "clock", None)
    if found is None:
        raise RuntimeError("app.state.clock is not set")  # a wiring bug
    return found


def now(request: Request) -> datetime:
    """The instant a request's figures are as of (overdue steps, engaged groups)."""
    return clock(request)()


def k_anonymity(request: Request) -> int:
    return int(request.app.state.settings.k_anonymity)


def disclosure_rule(request: Request) -> DisclosureRule:
    """The disclosure-control rule every figure served goes through (reporting.disclosure),
    as of the service's clock."""
    return DisclosureRule(k_anonymity(request), now(request))


Models = Annotated[ReadModels, Depends(current_models)]
Disclosure = Annotated[DisclosureRule, Depends(disclosure_rule)]
Viewer = Annotated[Principal, Depends(require_role(Role.SPONSOR, Role.PROGRAM_ADMIN))]
"""A sponsor (their programs only) or a program admin (every program)."""
