"""A copy's contribution to the counters moves with its state, batch after batch: an action
step whose due time moves back and forth, a group that meets on one day, then another."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from roundtable_dev.testing.reporting.history import NOW, PROGRAM, SPONSOR, History, at
from roundtable_dev.testing.reporting.readmodels import counted
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.events.catalogue import sessions as se


async def test_a_due_time_moved_twice_moves_the_overdue_count_each_time(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    now = NOW
    h = History()
    h.program(PROGRAM, [SPONSOR])
    h.action(PROGRAM, "act-1", now - timedelta(days=3), now + timedelta(days=2))
    headers = w.headers(SPONSOR, ["sponsor"])

    async def overdue_after(due_at: datetime) -> int:
        h.add(
            se.ActionUpdated(
                action_id="act-1",
                session_id="s-1",
                group_id="g-1",
                program_id=PROGRAM,
                owner_id="a1",
                accountability_partner_id="a2",
                title="Book a 1:1",
                due_at=due_at,
                updated_at=now,
            ),
            "act-1",
        )
        await w.publish_all(h.events)  # the earlier ones again too: they change nothing
        await w.settle()
        now_counted = await counted(w.app, PROGRAM)
        assert now_counted["actions"]["committed"] == 1
        summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
        actions = summary.json()["actions"]
        assert (actions["open"], actions["overdue"]) == (0, 0)  # one step: never a 1 served
        return int(now_counted["now"]["overdue_actions"])

    # each move lands in a batch of its own; the contribution recorded in the copy must follow
    assert await overdue_after(now - timedelta(hours=1)) == 1
    assert await overdue_after(now + timedelta(days=1)) == 0
    assert await overdue_after(now - timedelta(hours=2)) == 1


async def test_a_group_meeting_on_a_later_day_counts_once_as_engaged(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    h = History()
    h.program(PROGRAM, [SPONSOR])
    h.group(PROGRAM, "grp-a", ["a1", "a2", "a3"], at(30))
    h.session(PROGRAM, "s1", "grp-a", at(31), ["a1", "a2"], ["a1", "a2", "a3"])
    await w.publish_all(h.events)
    await w.settle()
    h.session(PROGRAM, "s2", "grp-a", at(33), ["a1", "a3"], ["a1", "a2", "a3"])
    h.session(PROGRAM, "s3", "grp-a", at(34), ["a1", "a3"], ["a1", "a2", "a3"])
    for session in ("s2", "s3"):  # one batch each
        await w.publish_all(e for e in h.events if e.subject == session)
        await w.settle()
    totals = await (await w.app.state.services.generations.current()).totals.find_one(
        {"_id": PROGRAM}
    )
    assert totals is not None
    met = {day: n for day, n in (totals.get("met") or {}).items() if n}
    assert met == {at(34).date().isoformat(): 1}
    assert (await counted(w.app, PROGRAM))["now"]["engaged_groups"] == 1
    summary = await client.get(
        f"/v1/programs/{PROGRAM}/summary", headers=w.headers(SPONSOR, ["sponsor"])
    )
    assert summary.json()["groups"]["engaged"] == 0  # one group: released as 0
