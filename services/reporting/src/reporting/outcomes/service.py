"""The outcome figures of a program: authorize, read, compute what the disclosure rule releases."""

from __future__ import annotations

from reporting.disclosure.domain import DisclosureRule
from reporting.kpis import repository as kpis_repository
from reporting.outcomes import domain, repository
from reporting.programs.service import readable_program
from reporting.projections.readmodel import ReadModels
from roundtable_shared.auth.tokens import Principal


async def outcomes(
    models: ReadModels, viewer: Principal, program_id: str, rule: DisclosureRule
) -> domain.Outcomes:
    await readable_program(models, viewer, program_id)
    totals = await kpis_repository.totals(models, program_id)
    retained = domain.retention(
        rule,
        await repository.started_at(models, program_id),
        await repository.headcount(models),
        repository.participants(totals),
    )
    surveys = await repository.surveys(models, program_id)
    tallies = await repository.tallies(models, surveys)
    return domain.outcomes(program_id, rule, surveys, tallies, retained)
