"""KPI queries: authorize, read the counters, compute what the disclosure rule releases."""

from __future__ import annotations

import re
from datetime import date

from reporting.disclosure.domain import DisclosureRule
from reporting.kpis import domain, repository
from reporting.programs.service import readable_program
from reporting.projections.readmodel import ReadModels
from roundtable_shared.auth.tokens import Principal
from roundtable_shared.http.problems import Unprocessable

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
MAX_WEEKS = 520


def checked_week(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    match = WEEK.match(value)
    try:
        if match is None:
            raise ValueError
        date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise Unprocessable(
            f"{field}: {value!r} is not an ISO week such as 2026-W05",
            errors=[{"field": field, "message": "expected an ISO week YYYY-Www", "type": "week"}],
        ) from None
    return value


async def summary(
    models: ReadModels, viewer: Principal, program_id: str, rule: DisclosureRule
) -> domain.Summary:
    """The program's figures to date as ``rule`` releases them; ``rule.now`` also decides which
    open steps are overdue and which groups are engaged."""
    program = await readable_program(models, viewer, program_id)
    totals = await repository.totals(models, program_id)  # one read: weekly figures inside
    return domain.summary(
        program_id,
        repository.total_weeks(totals),
        repository.averaged_weeks(totals),
        repository.current_state(totals, program, rule.now),
        rule,
    )


async def time_series(
    models: ReadModels,
    viewer: Principal,
    program_id: str,
    first: str | None,
    last: str | None,
    rule: DisclosureRule,
) -> list[domain.WeekPoint]:
    first, last = checked_week(first, "from"), checked_week(last, "to")
    if first and last and first > last:
        raise Unprocessable(
            "from: must not be after to",
            errors=[{"field": "from", "message": "after to", "type": "range"}],
        )
    if first and last and len(domain.all_weeks_between(first, last)) > MAX_WEEKS:
        raise Unprocessable(
            f"at most {MAX_WEEKS} weeks per request",
            errors=[{"field": "to", "message": "range too long", "type": "range"}],
        )
    await readable_program(models, viewer, program_id)
    weeks = await repository.weeks(models, program_id)
    points = domain.time_series(weeks, rule, first, last)
    return points[-MAX_WEEKS:]


async def funnel(
    models: ReadModels, viewer: Principal, program_id: str, rule: DisclosureRule
) -> domain.Funnel:
    await readable_program(models, viewer, program_id)
    totals = await repository.totals(models, program_id)
    return domain.funnel(program_id, repository.total_weeks(totals), rule)
