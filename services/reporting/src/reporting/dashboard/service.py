"""What the dashboard page shows: the same queries as the JSON API, for one viewer, released
by the same disclosure rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reporting.breakdowns.schemas import BreakdownOut
from reporting.breakdowns.service import Dimension, breakdown
from reporting.dashboard.charts import Bar, LineChart, bar_chart, line_chart
from reporting.disclosure.domain import DisclosureRule
from reporting.kpis import domain
from reporting.kpis import service as kpis
from reporting.programs.domain import ProgramCopy
from reporting.programs.service import visible_programs
from reporting.projections.readmodel import ReadModels
from roundtable_shared.auth.tokens import Principal


@dataclass
class DashboardView:
    programs: list[ProgramCopy]
    program: ProgramCopy | None
    summary: domain.Summary | None = None
    trend: LineChart | None = None
    funnel: list[Bar] | None = None
    breakdown: BreakdownOut | None = None
    k: int = 0
    fewest: int = 0  # people a week needs before its averages count

    def context(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def dashboard(
    models: ReadModels,
    viewer: Principal,
    program_id: str | None,
    dimension: Dimension,
    rule: DisclosureRule,
) -> DashboardView:
    programs = await visible_programs(models, viewer, after=None, limit=200)
    chosen = next((p for p in programs if p.program_id == program_id), None)
    if chosen is None and program_id is None and programs:
        chosen = programs[0]
    view = DashboardView(programs, chosen, k=rule.k, fewest=rule.fewest_contributors)
    if chosen is None:
        return view
    pid = chosen.program_id
    view.summary = await kpis.summary(models, viewer, pid, rule)
    points = (await kpis.time_series(models, viewer, pid, None, None, rule))[-26:]
    view.trend = line_chart(
        [p.week for p in points],
        {
            "active participants": [p.active for p in points],
            "sessions held": [p.sessions_held for p in points],
            "action steps completed": [p.actions_completed for p in points],
        },
    )
    funnel = await kpis.funnel(models, viewer, pid, rule)
    view.funnel = bar_chart([(s.stage.replace("_", " "), s.people) for s in funnel.stages])
    view.breakdown = BreakdownOut.of(pid, await breakdown(models, viewer, pid, dimension, rule))
    return view
