"""The rebuild replays the streams into a fresh generation that equals the incrementally built
one, and swaps it in while the service keeps answering."""

from __future__ import annotations

import httpx

from reporting.rebuild import rebuild
from reporting.settings import ReportingSettings
from roundtable_dev.testing.reporting.history import (
    PROGRAM,
    SPONSOR,
    known_history,
    reversed_with_repeats,
)
from roundtable_dev.testing.reporting.readmodels import contents
from roundtable_dev.testing.reporting.world import World


async def test_rebuilt_read_models_equal_the_incremental_ones(
    world: tuple[World, httpx.AsyncClient], settings: ReportingSettings
) -> None:
    w, client = world
    await w.publish_all(reversed_with_repeats(known_history().events))
    await w.settle()
    headers = w.headers(SPONSOR, ["sponsor"])
    incremental_summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
    assert incremental_summary.status_code == 200
    generations = w.app.state.services.generations
    before = await generations.current()
    incremental = await contents(before)
    assert incremental["totals"] and incremental["persons"]

    assert await rebuild(settings) == "g2"

    generations._cached = None
    after = await generations.current()
    assert after.generation == "g2"
    assert await contents(after) == incremental
    summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
    assert summary.status_code == 200 and summary.json() == incremental_summary.json()
