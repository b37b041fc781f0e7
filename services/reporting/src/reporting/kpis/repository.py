"""Reading the KPI inputs: a program's weekly rollups and its current-state counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reporting.kpis.domain import CurrentState, WeekRow, Weeks
from reporting.programs.domain import ProgramCopy
from reporting.projections.readmodel import ReadModels


async def weeks(models: ReadModels, program_id: str) -> Weeks:
    cursor = models.rollups.find({"program_id": program_id}, {"week": 1, "family": 1, "c": 1})
    return Weeks(
        [WeekRow(str(d["week"]), str(d["family"]), d.get("c") or {}) async for d in cursor]
    )


async def current_state(
    models: ReadModels, program: ProgramCopy, now: datetime | None = None
) -> CurrentState:
    now = now or datetime.now(UTC)
    overdue = await models.actions.count_documents(
        {"program_id": program.program_id, "done": {"$exists": False}, "due_at": {"$lt": now}}
    )
    cutoff = now - timedelta(days=program.cadence_days)
    active = engaged = 0
    cursor = models.groups.find(
        {"program_id": program.program_id, "status": "active"}, {"last_met_at": 1}
    )
    async for group in cursor:
        active += 1
        met = group.get("last_met_at")
        engaged += int(met is not None and met >= cutoff)
    return CurrentState(overdue_actions=overdue, active_groups=active, engaged_groups=engaged)
