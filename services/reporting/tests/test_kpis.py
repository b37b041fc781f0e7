"""Every KPI from a known event history, against real NATS and FerretDB: in order, and out of
order with every event delivered twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from reporting.projections.domain import iso_week
from roundtable_dev.testing.reporting.history import (
    NOW,
    PROGRAM,
    SPONSOR,
    at,
    known_history,
    reversed_with_repeats,
)
from roundtable_dev.testing.reporting.readmodels import counted, counted_weeks
from roundtable_dev.testing.reporting.world import World
from roundtable_shared.events.catalogue import sessions as se

# What the projections count of the known history (the read model, never served as such).
COUNTED: dict[str, dict[str, int]] = {
    "participants": {
        "enrolled": 7,
        "withdrawn": 1,
        "withdrawn_self": 1,
        "waitlisted": 1,
        "enrolled_from_waitlist": 1,
    },
    "groups": {"formed": 2, "dissolved": 1},
    "sessions": {"scheduled": 5, "held": 4, "cancelled": 1, "attended": 9, "invited": 12},
    "actions": {"committed": 6, "completed": 3, "dropped": 1},
    "feedback": {
        "ratings": 3,
        "rating_sum": 12,
        "recommend_count": 2,
        "recommend_sum": 16,
        "raters": 1,  # every rating is a1's: one person
        "recommenders": 1,
    },
    "reminders": {"sent": 3, "failed": 1},
    "funnel": {
        "enrolled": 7,
        "matched": 6,
        "first_session": 4,
        "three_sessions": 2,
        "completed": 2,
    },
}
COUNTED_NOW = {"overdue_actions": 1, "active_groups": 1, "engaged_groups": 1}
# What a sponsor sees of it (k = 5, docs/disclosure.md): every count to the nearest multiple of
# 5, ratios of those; the three ratings are one person's, so no average; the three completed
# steps are one person's too, so no median. Before the rule, the sponsor saw 7 enrolled, 1
# withdrawn by reason self, a lone person's average rating 4.0 and median of 6 days.
EXPECTED_SUMMARY: dict[str, Any] = {
    "program_id": PROGRAM,
    "participants": {
        "enrolled": 5,
        "active": 5,
        "withdrawn": 0,
        "withdrawn_by_reason": {"self": 0, "terminated": 0, "admin": 0, "erased": 0},
        "waitlisted": 0,
        "retention": 1.0,
    },
    "groups": {"formed": 0, "dissolved": 0, "active": 0, "engaged": 0, "engaged_share": None},
    "sessions": {"scheduled": 5, "held": 5, "cancelled": 0, "attendance_rate": 1.0},
    "actions": {
        "committed": 5,
        "completed": 5,
        "dropped": 0,
        "open": 0,
        "overdue": 0,
        "completion_rate": 1.0,
        "median_days_to_complete": None,
    },
    "feedback": {"ratings": 0, "average_rating": None, "average_recommend_score": None},
    "reminders": {"sent": 5, "failed": 0, "failure_rate": 0.0},
}
EXPECTED_FUNNEL = [
    ("enrolled", 5),
    ("matched", 5),
    ("first_session", 5),
    ("three_sessions", 0),
    ("completed", 0),
]


def _subset(counted: dict[str, Any], like: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {f: {n: counted.get(f, {}).get(n, 0) for n in names} for f, names in like.items()}


async def _check_everything(world: World, client: httpx.AsyncClient) -> None:
    # the projections counted every fact once ...
    counted_now = await counted(world.app, PROGRAM)
    assert _subset(counted_now, COUNTED) == COUNTED
    assert counted_now["now"] == COUNTED_NOW
    weekly = await counted_weeks(world.app, PROGRAM)
    weeks = sorted(weekly)
    assert weeks[0] == iso_week(at(1)) and weeks[-1] == iso_week(NOW)
    assert sum(w["participants"].get("enrolled", 0) for w in weekly.values()) == 7
    assert sum(w["sessions"].get("held", 0) for w in weekly.values()) == 4
    enrolled_first = weekly[iso_week(at(1))]["participants"]["enrolled"]
    assert enrolled_first == 6 + (iso_week(at(8)) == iso_week(at(1)))
    assert weekly[iso_week(at(10))]["sessions"]["held"] >= 1
    assert weekly[iso_week(at(15))]["participants"]["withdrawn"] == 1
    completions: dict[str, list[int]] = {}
    for completed_at, days in ((at(12), 2), (at(16), 6), (at(20.5), 10)):
        completions.setdefault(iso_week(completed_at), []).append(days)
    for week, days in completions.items():
        actions = weekly[week]["actions"]
        assert actions["completed"] == len(days) and actions["completers"] == 1
        assert {int(n.removeprefix("days_")) for n in actions if n.startswith("days_")} == set(days)

    # the totals keep the weekly feedback and completion counters too (the summary's one read)
    models = await world.app.state.services.generations.current()
    totals = await models.totals.find_one({"_id": PROGRAM})
    kept = {
        (week, family): counts
        for week, families in totals["w"].items()
        for family, counts in families.items()
    }
    assert kept == {
        (week, family): {n: v for n, v in weekly[week][family].items() if n in counts}
        for (week, family), counts in kept.items()
    }
    assert {week for week, family in kept if family == "feedback"} == {iso_week(at(15))}
    assert kept[(iso_week(at(15)), "feedback")] == {
        "ratings": 3,
        "rating_sum": 12,
        "recommend_count": 2,
        "recommend_sum": 16,
        "raters": 1,
        "recommenders": 1,
    }
    assert {week for week, family in kept if family == "actions"} == set(completions)

    # ... and the sponsor sees what the disclosure rule releases of it
    headers = world.headers(SPONSOR, ["participant", "sponsor"])
    summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
    assert summary.status_code == 200, summary.text
    assert summary.json() == EXPECTED_SUMMARY

    funnel = (await client.get(f"/v1/programs/{PROGRAM}/funnel", headers=headers)).json()
    assert [(s["stage"], s["people"]) for s in funnel["stages"]] == EXPECTED_FUNNEL
    assert funnel["stages"][1]["share_of_previous"] == 1.0  # 5 / 5, not 6 / 7

    series = (await client.get(f"/v1/programs/{PROGRAM}/timeseries", headers=headers)).json()
    by_week = {point["week"]: point for point in series}
    served_weeks = [p["week"] for p in series]
    assert served_weeks == sorted(served_weeks) and len(served_weeks) == len(set(served_weeks))
    assert served_weeks[0] == iso_week(at(0)) and served_weeks[-1] == iso_week(NOW)
    assert by_week[iso_week(at(1))]["enrolled"] == 5  # 6 or 7 people that week
    assert by_week[iso_week(at(15))]["withdrawn"] == 0  # one person: never a 1
    for point in series:
        assert point["median_days_to_complete"] is None  # one person's steps
        assert point["average_rating"] is None  # one person's ratings
        assert all(v % 5 == 0 for k, v in point.items() if isinstance(v, int)), point
    last = series[-1]
    assert last["active"] == 5 and last["retention"] == 1.0
    assert last["completion_rate"] == 1.0


async def test_every_kpi_from_a_known_history(world: tuple[World, httpx.AsyncClient]) -> None:
    w, client = world
    await w.publish_all(known_history().events)
    await w.settle()
    await _check_everything(w, client)


async def test_out_of_order_and_redelivered_events_give_the_same_figures(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    history = known_history()
    deliveries = reversed_with_repeats(history.events)
    await w.publish_all(deliveries)
    await w.settle()
    await _check_everything(w, client)


async def test_an_event_republished_under_a_new_id_counts_once(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    """A producer that re-sends a fact under a new event id (e.g. after a crash) does not
    inflate the counters: effects are keyed by business ids."""
    w, client = world
    h = known_history()
    await w.publish_all(h.events)
    again = known_history()  # the same facts, new event ids
    await w.publish_all(e for e in again.events if "program" not in e.type)
    await w.settle()
    await _check_everything(w, client)


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13",
        "from=2026-W54",
        "to=yesterday",
        "from=2026-W10&to=2026-W01",
        "from=1990-W01&to=2030-W01",
    ],
)
async def test_time_series_rejects_bad_weeks(
    world: tuple[World, httpx.AsyncClient], query: str
) -> None:
    w, client = world
    await w.publish_all(known_history().events[:2])
    await w.settle()
    response = await client.get(
        f"/v1/programs/{PROGRAM}/timeseries?{query}", headers=w.headers("adm", ["program_admin"])
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_time_series_range_fills_empty_weeks_with_zeros(
    world: tuple[World, httpx.AsyncClient],
) -> None:
    w, client = world
    await w.publish_all(known_history().events[:2])
    await w.settle()
    response = await client.get(
        f"/v1/programs/{PROGRAM}/timeseries?from=2025-W52&to=2026-W02",
        headers=w.headers("adm", ["program_admin"]),
    )
    assert response.status_code == 200
    points = response.json()
    assert [p["week"] for p in points] == ["2025-W52", "2026-W01", "2026-W02"]
    assert all(p["enrolled"] == 0 and p["retention"] is None for p in points)


@pytest.mark.parametrize("correction_first", [False, True])
async def test_a_corrected_attendance_replaces_what_was_said(
    world: tuple[World, httpx.AsyncClient], correction_first: bool
) -> None:
    """s1 was held with a1, a2 and a3; the correction says only a1 came. The attendance rate and
    the people's session counts (funnel) follow, whichever event arrives first."""
    w, client = world
    h = known_history()
    correction = h.add(
        se.SessionAttendanceCorrected(
            session_id="s1",
            group_id="g1",
            program_id=PROGRAM,
            started_at=at(10),
            ended_at=at(10) + timedelta(hours=1),
            attendee_ids=["a1"],
            invited_count=3,
            corrected_at=at(11),
        ),
        "s1",
    )
    events = h.events[:-1]
    await w.publish_all([correction, *events] if correction_first else [*events, correction])
    await w.settle()
    now = await counted(w.app, PROGRAM)
    assert (now["sessions"]["held"], now["sessions"]["attended"]) == (4, 7)  # was 9 of 12
    assert now["sessions"]["invited"] == 12
    assert now["funnel"]["first_session"] == 4  # a2 and a3 still attended other sessions
    assert now["funnel"]["three_sessions"] == 1  # only a1 now
    assert now["funnel"]["completed"] == 1
    week = (await counted_weeks(w.app, PROGRAM))[iso_week(at(10))]["sessions"]
    assert (week["attended"], week["invited"]) == (1, 3)
    # what the sponsor sees follows, released: 7 of 12 attended shows as 5 of 10
    headers = w.headers(SPONSOR, ["sponsor"])
    summary = (await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)).json()
    assert summary["sessions"]["held"] == 5
    assert summary["sessions"]["attendance_rate"] == 0.5  # was 10 / 10
    funnel = (await client.get(f"/v1/programs/{PROGRAM}/funnel", headers=headers)).json()
    people = {s["stage"]: s["people"] for s in funnel["stages"]}
    assert (people["first_session"], people["three_sessions"], people["completed"]) == (5, 0, 0)
    series = (await client.get(f"/v1/programs/{PROGRAM}/timeseries", headers=headers)).json()
    served_week = next(p for p in series if p["week"] == iso_week(at(10)))
    assert served_week["attendance_rate"] == 0.0  # 1 of 3: released as 0 of 5
