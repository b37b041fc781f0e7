"""Reading the KPI inputs: a program's weekly rollups, and its totals document."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from reporting.kpis.domain import CurrentState, WeekRow, Weeks, WeeksOfTotals
from reporting.programs.domain import ProgramCopy
from reporting.projections.domain import overdue_at
from reporting.projections.readmodel import ReadModels


async def weeks(models: ReadModels, program_id: str) -> Weeks:
    cursor = models.rollups.find({"program_id": program_id}, {"week": 1, "family": 1, "c": 1})
    return Weeks(
        [WeekRow(str(d["week"]), str(d["family"]), d.get("c") or {}) async for d in cursor]
    )


async def totals(models: ReadModels, program_id: str) -> Mapping[str, Any]:
    """The program's totals document (one read by ``_id``); empty before its first event."""
    return await models.totals.find_one({"_id": program_id}) or {}


def total_weeks(doc: Mapping[str, Any]) -> Weeks:
    """Every family's counters over all weeks, as ``Weeks`` totals."""
    families: Mapping[str, Mapping[str, int]] = doc.get("c") or {}
    return Weeks([WeekRow("total", family, counts) for family, counts in families.items()])


def averaged_weeks(doc: Mapping[str, Any]) -> WeeksOfTotals:
    """The weekly counters the totals document keeps of the families whose averages and
    medians the disclosure rule releases per closed week (feedback, completed steps)."""
    return WeeksOfTotals(doc.get("w") or {})


def current_state(doc: Mapping[str, Any], program: ProgramCopy, now: datetime) -> CurrentState:
    """Overdue steps (open, due before now: the sessions service's rule) and engaged groups
    (active, last met on or after the day ``cadence`` days ago), summed from the totals'
    buckets of due instants and meeting days."""
    cutoff = (now - timedelta(days=program.cadence_days)).date().isoformat()
    due: Mapping[str, int] = doc.get("due") or {}
    met: Mapping[str, int] = doc.get("met") or {}
    return CurrentState(
        overdue_actions=sum(int(n) for key, n in due.items() if overdue_at(key, now)),
        active_groups=int(doc.get("groups_active", 0)),
        engaged_groups=sum(int(n) for day, n in met.items() if day >= cutoff),
    )
