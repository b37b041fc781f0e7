"""Overdue action steps in the summary follow the sessions service's rule (open and due before
now, to the instant), also for a step due late in the day in a far time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import httpx

from roundtable_dev.testing.reporting.history import NOW, PROGRAM, SPONSOR, History
from roundtable_dev.testing.reporting.readmodels import counted
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.events.catalogue import sessions as se


def latest_local_time(moment: datetime) -> datetime:
    """``moment`` in the zone where its local time of day is latest, the farther from UTC the
    better on a tie: e.g. 23:58 in Pacific/Kiritimati (UTC+14) for 09:58 UTC."""

    def lateness(zone: str) -> tuple[datetime, float]:
        local = moment.astimezone(ZoneInfo(zone))
        offset = local.utcoffset() or timedelta()
        return local.replace(year=2000, month=1, day=1, tzinfo=None), abs(offset.total_seconds())

    zone = max(sorted(available_timezones() - {"Factory", "localtime"}), key=lateness)
    return moment.astimezone(ZoneInfo(zone))


async def test_a_step_due_late_in_a_far_zones_day_is_overdue_once_that_instant_passed(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    now = NOW
    passed = latest_local_time(now - timedelta(minutes=2))
    assert passed.hour >= 21 and passed.utcoffset() != timedelta(0)
    h = History()
    h.program(PROGRAM, [SPONSOR])
    committed = now - timedelta(days=3)
    h.action(PROGRAM, "act-passed", committed, passed)  # due 2 minutes ago, local late evening
    h.action(
        PROGRAM, "act-soon", committed, (now + timedelta(minutes=10)).astimezone(passed.tzinfo)
    )
    h.action(PROGRAM, "act-moved", committed, now + timedelta(days=2))
    # its due time moved to a minute ago: overdue now, counted once
    h.add(
        se.ActionUpdated(
            action_id="act-moved",
            session_id="s-1",
            group_id="g-1",
            program_id=PROGRAM,
            owner_id="a1",
            accountability_partner_id="a2",
            title="Book a 1:1",
            due_at=(now - timedelta(minutes=1)).astimezone(passed.tzinfo),
            updated_at=now - timedelta(minutes=30),
        ),
        "act-moved",
    )
    h.action(PROGRAM, "act-done", committed, passed, "completed", now - timedelta(hours=1))
    await w.publish_all(h.events)
    await w.settle()

    now_counted = await counted(w.app, PROGRAM)
    actions = now_counted["actions"]
    assert actions["committed"] == 4 and actions["completed"] == 1  # three open
    overdue = now_counted["now"]["overdue_actions"]
    assert overdue == 2, (passed.isoformat(), now_counted)  # act-passed and act-moved
    # the sponsor sees them released (docs/disclosure.md): 4 steps as 5, 2 overdue as 0
    headers = w.headers(SPONSOR, ["sponsor"])
    summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
    assert summary.status_code == 200, summary.text
    served = summary.json()["actions"]
    assert (served["committed"], served["open"], served["overdue"]) == (5, 5, 0)
