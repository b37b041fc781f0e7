"""What the read models no longer need goes: a swapped-out generation (and any a failed rebuild
left) once a rebuild is done, and the totals' day and due buckets whose counts fell to zero."""

from __future__ import annotations

from typing import Any

import httpx

from reporting.projections.domain import due_key
from roundtable_dev.testing.reporting.history import PROGRAM, SPONSOR, History, at, known_history
from roundtable_dev.testing.reporting.readmodels import REBUILDS, counted, poll_until_finished
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.events.catalogue import enrollment as en


async def test_a_done_rebuild_drops_every_other_generation(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    await w.publish_all(known_history().events)
    await w.settle()
    db = w.app.state.runtime.db
    await db["g7_rollups"].insert_one({"_id": "left by a rebuild that failed"})
    before = set(await db.list_collection_names())
    assert {"g1_totals", "g1_effects", "g7_rollups"} <= before

    admin = w.headers("e-admin", ["program_admin"])
    started = await client.post(REBUILDS, headers=admin)
    assert started.status_code == 202
    done = await poll_until_finished(client, started.headers["location"], admin)
    assert done["phase"] == "done" and done["pruned_generations"] == ["g1", "g7"]

    after = set(await db.list_collection_names())
    assert not {n for n in after if n.startswith(("g1_", "g7_"))}
    assert {"g2_totals", "g2_effects", "reporting_meta", "processed_events"} <= after
    assert (await counted(w.app, PROGRAM))["sessions"]["held"] == 4
    summary = await client.get(
        f"/v1/programs/{PROGRAM}/summary", headers=w.headers(SPONSOR, ["sponsor"])
    )
    assert summary.status_code == 200 and summary.json()["sessions"]["held"] == 5  # 4, released


async def _buckets(w: World) -> dict[str, Any]:
    totals = await (await w.app.state.services.generations.current()).totals.find_one(
        {"_id": PROGRAM}
    )
    assert totals is not None
    return {"due": totals.get("due") or {}, "met": totals.get("met") or {}}


async def test_buckets_that_fall_to_zero_are_removed(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = History()
    h.program(PROGRAM, [SPONSOR])
    h.group(PROGRAM, "grp-a", ["a1", "a2", "a3"], at(1))
    h.session(PROGRAM, "s1", "grp-a", at(2), ["a1", "a2"], ["a1", "a2", "a3"])
    first_due, second_due = at(9.5), at(12.25)
    h.action(PROGRAM, "act-1", at(2), first_due)
    h.action(PROGRAM, "act-2", at(2), first_due)
    h.action(PROGRAM, "act-3", at(2), second_due)
    await w.publish_all(h.events)
    await w.settle()
    first_day, second_day = at(2).date().isoformat(), at(5).date().isoformat()
    assert await _buckets(w) == {
        "due": {due_key(first_due): 2, due_key(second_due): 1},
        "met": {first_day: 1},
    }

    # The group meets again on another day; one step of the first due time is done, the only
    # step of the second is dropped.
    later = History(versions=h.versions)
    later.session(PROGRAM, "s2", "grp-a", at(5), ["a1", "a3"], ["a1", "a2", "a3"])
    later.action(PROGRAM, "act-1", at(2), first_due, "completed", at(8))
    later.action(PROGRAM, "act-3", at(2), second_due, "dropped", at(8))
    await w.publish_all(e for e in later.events if e.type.endswith(("completed", "dropped")))
    await w.settle()
    assert await _buckets(w) == {"due": {due_key(first_due): 1}, "met": {second_day: 1}}

    # dissolved: no active group left to count
    dissolved = History(versions=later.versions)
    dissolved.add(
        en.GroupDissolved(
            group_id="grp-a",
            program_id=PROGRAM,
            reason=en.DissolveReason.ADMIN,
            dissolved_at=at(20),
        ),
        "grp-a",
    )
    await w.publish_all(dissolved.events)
    await w.settle()
    assert await _buckets(w) == {"due": {due_key(first_due): 1}, "met": {}}
    now_counted = (await counted(w.app, PROGRAM))["now"]
    assert (now_counted["overdue_actions"], now_counted["active_groups"]) == (1, 0)
    summary = await client.get(
        f"/v1/programs/{PROGRAM}/summary", headers=w.headers(SPONSOR, ["sponsor"])
    )
    assert summary.json()["groups"]["active"] == 0
