"""Every KPI from a known event history, against real NATS and FerretDB: in order, and out of
order with every event delivered twice."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

import httpx
import pytest

from reporting.projections.domain import iso_week
from reporting.testing.history import (
    NOW,
    PROGRAM,
    SPONSOR,
    at,
    known_history,
    reversed_with_repeats,
)
from reporting.testing.world import World
from roundtable_shared.events.catalogue import sessions as se

EXPECTED_SUMMARY: dict[str, Any] = {
    "program_id": PROGRAM,
    "participants": {
        "enrolled": 7,
        "active": 6,
        "withdrawn": 1,
        "withdrawn_by_reason": {"self": 1, "terminated": 0, "admin": 0, "erased": 0},
        "waitlisted": 0,
        "retention": 0.8571,
    },
    "groups": {"formed": 2, "dissolved": 1, "active": 1, "engaged": 1, "engaged_share": 1.0},
    "sessions": {"scheduled": 5, "held": 4, "cancelled": 1, "attendance_rate": 0.75},
    "actions": {
        "committed": 6,
        "completed": 3,
        "dropped": 1,
        "open": 2,
        "overdue": 1,
        "completion_rate": 0.5,
        "median_days_to_complete": 6.0,
    },
    "feedback": {"ratings": 3, "average_rating": 4.0, "average_recommend_score": 8.0},
    "reminders": {"sent": 3, "failed": 1, "failure_rate": 0.25},
}
EXPECTED_FUNNEL = [
    ("enrolled", 7),
    ("matched", 6),
    ("first_session", 4),
    ("three_sessions", 2),
    ("completed", 2),
]


async def _check_everything(world: World, client: httpx.AsyncClient) -> None:
    headers = world.headers(SPONSOR, ["participant", "sponsor"])
    summary = await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)
    assert summary.status_code == 200, summary.text
    assert summary.json() == EXPECTED_SUMMARY

    funnel = (await client.get(f"/v1/programs/{PROGRAM}/funnel", headers=headers)).json()
    assert [(s["stage"], s["people"]) for s in funnel["stages"]] == EXPECTED_FUNNEL
    assert funnel["stages"][1]["share_of_previous"] == round(6 / 7, 4)

    series = (await client.get(f"/v1/programs/{PROGRAM}/timeseries", headers=headers)).json()
    by_week = {point["week"]: point for point in series}
    weeks = [p["week"] for p in series]
    assert weeks == sorted(weeks) and len(weeks) == len(set(weeks))
    assert weeks[0] == iso_week(at(0)) and weeks[-1] == iso_week(NOW)
    assert sum(p["enrolled"] for p in series) == 7
    assert sum(p["sessions_held"] for p in series) == 4
    assert by_week[iso_week(at(1))]["enrolled"] == 6 + (iso_week(at(8)) == iso_week(at(1)))
    assert by_week[iso_week(at(10))]["sessions_held"] >= 1
    assert by_week[iso_week(at(15))]["withdrawn"] == 1
    completions: dict[str, list[int]] = {}
    for completed_at, days in ((at(12), 2), (at(16), 6), (at(20.5), 10)):
        completions.setdefault(iso_week(completed_at), []).append(days)
    for week, days in completions.items():
        assert by_week[week]["median_days_to_complete"] == statistics.median(days)
        assert by_week[week]["actions_completed"] == len(days)
    last = series[-1]
    assert last["active"] == 6 and last["retention"] == 0.8571
    assert last["completion_rate"] == 0.5


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
    headers = w.headers(SPONSOR, ["sponsor"])
    summary = (await client.get(f"/v1/programs/{PROGRAM}/summary", headers=headers)).json()
    assert summary["sessions"]["held"] == 4
    assert summary["sessions"]["attendance_rate"] == round(7 / 12, 4)  # was 9 / 12
    funnel = (await client.get(f"/v1/programs/{PROGRAM}/funnel", headers=headers)).json()
    people = {s["stage"]: s["people"] for s in funnel["stages"]}
    assert people["first_session"] == 4  # a2 and a3 still attended other sessions
    assert people["three_sessions"] == 1  # only a1 now
    assert people["completed"] == 1
    series = (await client.get(f"/v1/programs/{PROGRAM}/timeseries", headers=headers)).json()
    week = next(p for p in series if p["week"] == iso_week(at(10)))
    assert week["attendance_rate"] == round(1 / 3, 4)
