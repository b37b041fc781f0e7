"""The admin API rebuilds the read models inside the running service: a program admin starts
it, follows it to done, and the swapped-in generation equals the incrementally built one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from roundtable_dev.testing.reporting.history import (
    PROGRAM,
    SPONSOR,
    known_history,
    reversed_with_repeats,
)
from roundtable_dev.testing.reporting.readmodels import REBUILDS, contents, poll_until_finished
from roundtable_dev.testing.reporting.world import World


async def test_admin_rebuild_runs_to_done_and_equals_the_incremental_models(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    history = known_history().events
    await w.publish_all(reversed_with_repeats(history))
    await w.settle()
    sponsor = w.headers(SPONSOR, ["sponsor"])
    admin = w.headers("e-admin", ["program_admin"])
    incremental_summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=sponsor)
    assert incremental_summary.status_code == 200
    incremental = await contents(await w.app.state.services.generations.current())
    assert incremental["totals"] and incremental["persons"]

    started = await client.post(REBUILDS, headers=admin)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["rebuild_id"] == "g2" and body["replaced_generation"] == "g1"
    assert body["phase"] in ("replaying", "swapped")
    assert started.headers["location"] == f"{REBUILDS}/g2"
    # the rebuild goes on for seconds after its swap; a second start meanwhile is refused
    again = await client.post(REBUILDS, headers=admin)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["rebuild_id"] == "g2"

    done = await poll_until_finished(client, started.headers["location"], admin)
    assert done["phase"] == "done" and done["error"] is None and done["finished_at"]
    streams = done["streams"]
    assert sum(s["events_applied"] for s in streams.values()) >= len(history)
    assert all(s["position"] >= s["end_at_start"] > 0 for s in streams.values())

    w.app.state.services.generations._cached = None
    live = await w.app.state.services.generations.current()
    assert live.generation == "g2"
    assert await contents(live) == incremental
    summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=sponsor)
    assert summary.status_code == 200 and summary.json() == incremental_summary.json()
    # finished: another one may start
    next_one = await client.post(REBUILDS, headers=admin)
    assert next_one.status_code == 202 and next_one.json()["rebuild_id"] == "g3"
    assert (await poll_until_finished(client, f"{REBUILDS}/g3", admin))["phase"] == "done"


async def test_only_program_admins_rebuild(world: tuple[World, httpx.AsyncClient]) -> None:
    w, client = world
    for roles in (["sponsor"], ["participant"], ["participant", "sponsor"]):
        headers = w.headers("e-someone", roles)
        for response in (
            await client.post(REBUILDS, headers=headers),
            await client.get(f"{REBUILDS}/g2", headers=headers),
        ):
            assert response.status_code == 403, (roles, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    for response in (await client.post(REBUILDS), await client.get(f"{REBUILDS}/g2")):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
    assert w.app.state.services.rebuilds.running() is None  # nothing was started


async def test_bad_rebuild_ids_and_unknown_rebuilds_are_problems(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    admin = w.headers("e-admin", ["program_admin"])
    unknown = await client.get(f"{REBUILDS}/g7", headers=admin)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    for bad in ("x", "g", "g-1", "g1x", "%00", "g" + "9" * 12):
        response = await client.get(f"{REBUILDS}/{bad}", headers=admin)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    wrong_method = await client.delete(f"{REBUILDS}/g1", headers=admin)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("application/problem+json")


async def test_a_standby_refuses_a_rebuild_with_retry_after(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    admin = w.headers("e-admin", ["program_admin"])
    writer = w.app.state.services.writer
    # Another process takes the lease over (this one stalled past it): at its next renewal this
    # process finds the lease taken and stands by.
    await writer.store.collection.update_one(
        {"_id": "projection-writer"},
        {
            "$set": {
                "holder": "another-process",
                "expires_at": datetime.now(UTC) + timedelta(hours=1),
            }
        },
        upsert=True,
    )
    await writer.step()
    assert not writer.gate.is_set()
    refused = await client.post(REBUILDS, headers=admin)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "1"
    assert w.app.state.services.rebuilds.running() is None
