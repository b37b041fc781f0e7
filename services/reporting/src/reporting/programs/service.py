"""Which programs a viewer may see: the one authorization rule of the reporting API."""

from __future__ import annotations

from reporting.programs import repository
from reporting.programs.domain import ProgramCopy, may_see, sees_all
from reporting.projections.readmodel import ReadModels
from roundtable_shared.auth.tokens import Principal
from roundtable_shared.http.problems import NotFound


async def readable_program(models: ReadModels, viewer: Principal, program_id: str) -> ProgramCopy:
    """The program, if the viewer may see it. 404 otherwise, so that a sponsor cannot even learn
    which program ids exist beyond their own."""
    program = await repository.get(models, program_id)
    if program is None or not may_see(viewer, program):
        raise NotFound(f"no program {program_id!r} among the programs you may see")
    return program


async def visible_programs(
    models: ReadModels, viewer: Principal, *, after: str | None, limit: int
) -> list[ProgramCopy]:
    sponsor = None if sees_all(viewer) else viewer.employee_id
    return await repository.listed(models, sponsor_id=sponsor, after=after, limit=limit)
