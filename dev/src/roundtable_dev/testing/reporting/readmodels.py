"""What a generation of the read models holds, to compare two (an incremental and a rebuilt);
following a rebuild through the admin API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fastapi import FastAPI

from reporting.app import services_of
from reporting.kpis import repository as kpis_repository
from reporting.programs import repository as programs_repository
from reporting.projections.domain import Family
from reporting.projections.readmodel import APPLIED_BATCH, NAMES, ReadModels

# Which batch claimed an effect marker or last changed a counter says how events were grouped
# into batches, not what they counted.
_BOOKKEEPING = {
    "effects": {"by": 0},
    "rollups": {APPLIED_BATCH: 0},
    "totals": {APPLIED_BATCH: 0},
    "directory": {APPLIED_BATCH: 0},
    "tallies": {APPLIED_BATCH: 0},
}


async def contents(models: ReadModels) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection of the generation, by ``_id``, bookkeeping left out."""
    out = {}
    for name in NAMES:
        if name == "journal":
            continue  # the last batch applied: how events were grouped into batches
        docs = models.collection(name).find({}, _BOOKKEEPING.get(name), sort=[("_id", 1)])
        out[name] = [doc async for doc in docs]
    return out


REBUILDS = "/v1/admin/rebuilds"


async def poll_until_finished(
    client: httpx.AsyncClient, location: str, headers: dict[str, str], seconds: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        response = await client.get(location, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        seen.append(body["phase"])
        if body["phase"] in ("done", "failed"):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"rebuild still running after {seconds} s: phases {seen}")


async def counted(app: FastAPI, program_id: str) -> dict[str, Any]:
    """What the read model counted for a program, *before* the disclosure rule: the totals'
    counters by family, and the current state as of the app's clock. For tests of the
    projections only: no endpoint serves this (sponsors see what reporting.disclosure releases).
    """
    models: ReadModels = await services_of(app).generations.current()
    doc = await kpis_repository.totals(models, program_id)
    program = await programs_repository.get(models, program_id)
    assert program is not None, f"no program {program_id!r} in the read model"
    state = kpis_repository.current_state(doc, program, services_of(app).reads.clock())
    counters: dict[str, dict[str, int]] = {
        family: {name: int(n) for name, n in counts.items()}
        for family, counts in (doc.get("c") or {}).items()
    }
    return {**counters, "now": state.model_dump()}


async def counted_weeks(app: FastAPI, program_id: str) -> dict[str, dict[str, dict[str, int]]]:
    """The program's weekly counters as the read model holds them (week -> family -> name),
    before the disclosure rule; for tests of the projections only."""
    models: ReadModels = await services_of(app).generations.current()
    weeks = await kpis_repository.weeks(models, program_id)
    return {
        week: {family: dict(weeks.week(week, family)) for family in Family if family != "funnel"}
        for week in weeks.weeks
    }
