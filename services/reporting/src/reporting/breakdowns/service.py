"""Breakdown queries: authorize, count people per attribute value, release by the rule."""

from __future__ import annotations

from enum import StrEnum

from reporting.breakdowns import repository
from reporting.breakdowns.domain import Breakdown, cells_from_people
from reporting.disclosure.domain import DisclosureRule
from reporting.programs.service import readable_program
from reporting.projections.readmodel import ReadModels
from roundtable_shared.auth.tokens import Principal


class Dimension(StrEnum):
    DEPARTMENT = "department"
    LEVEL = "level"
    LOCATION = "location"


async def breakdown(
    models: ReadModels,
    viewer: Principal,
    program_id: str,
    dimension: Dimension,
    rule: DisclosureRule,
) -> Breakdown:
    await readable_program(models, viewer, program_id)
    people = await repository.people(models, program_id)
    cells = cells_from_people(people, str(dimension), repository.METRICS)
    return Breakdown(dimension=str(dimension), k=rule.k, cells=rule.cells(cells))
