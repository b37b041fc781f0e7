"""KPI arithmetic: medians from histograms, weeks, ratios."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from reporting.disclosure.domain import DisclosureRule
from reporting.kpis.domain import (
    WeekRow,
    Weeks,
    all_weeks_between,
    median_from_histogram,
    time_series,
)
from reporting.projections.domain import completion_days, iso_week


@given(st.lists(st.integers(0, 60), max_size=200))
def test_median_from_histogram_is_the_median(values: list[int]) -> None:
    buckets: dict[int, int] = {}
    for v in values:
        buckets[v] = buckets.get(v, 0) + 1
    expected = statistics.median(values) if values else None
    assert median_from_histogram(buckets) == expected


def test_iso_weeks_are_taken_in_utc_and_cross_years() -> None:
    late_sunday_utc = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
    assert iso_week(late_sunday_utc) == "2026-W01"
    # Monday 00:30 in Berlin is still Sunday in UTC
    berlin = timezone(timedelta(hours=1))
    assert iso_week(datetime(2026, 1, 5, 0, 30, tzinfo=berlin)) == "2026-W01"
    assert iso_week(datetime(2024, 12, 30, tzinfo=UTC)) == "2025-W01"
    assert all_weeks_between("2020-W52", "2021-W02") == [
        "2020-W52",
        "2020-W53",
        "2021-W01",
        "2021-W02",
    ]


def test_completion_days_are_whole_and_bounded() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert completion_days(t, t + timedelta(days=2, hours=23)) == 2
    assert completion_days(t, t - timedelta(days=1)) == 0
    assert completion_days(t, t + timedelta(days=5000)) == 365


def test_time_series_accumulates_stock_from_before_the_range() -> None:
    weeks = Weeks(
        [
            WeekRow("2026-W01", "participants", {"enrolled": 10}),
            WeekRow("2026-W03", "participants", {"withdrawn": 2}),
            WeekRow("people00", "funnel", {"enrolled": 10}),
        ]
    )
    rule = DisclosureRule(2, datetime(2026, 3, 1, tzinfo=UTC))  # even counts: shown as they are
    points = time_series(weeks, rule, "2026-W02", "2026-W03")
    assert [(p.week, p.enrolled, p.active, p.retention) for p in points] == [
        ("2026-W02", 0, 10, 1.0),
        ("2026-W03", 0, 8, 0.8),
    ]
    assert weeks.total("funnel")["enrolled"] == 10  # type: ignore[arg-type]
