"""What every reporting router reads through: the live read models, the viewer, and the
disclosure rule as of the service's clock. Built once in ``app.py`` and given to each router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from reporting.disclosure.domain import DisclosureRule
from reporting.projections.generations import Generations
from reporting.projections.readmodel import ReadModels
from roundtable_shared.auth.dependencies import require_role
from roundtable_shared.auth.tokens import Principal, Role
from roundtable_shared.clock import Clock


@dataclass(frozen=True)
class Reads:
    """The read side of the service, as every route sees it."""

    generations: Generations
    clock: Clock
    """The instant a request's figures are as of (overdue steps, engaged groups)."""
    k_anonymity: int

    async def models(self) -> ReadModels:
        """The live generation of the read models."""
        return await self.generations.current()

    def disclosure(self) -> DisclosureRule:
        """The disclosure-control rule every figure served goes through (reporting.disclosure),
        as of now."""
        return DisclosureRule(self.k_anonymity, self.clock())


Viewer = Annotated[Principal, Depends(require_role(Role.SPONSOR, Role.PROGRAM_ADMIN))]
"""A sponsor (their programs only) or a program admin (every program)."""
