"""How far ahead of the clock a directory import's `as_of` may be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enrollment.directory.domain import CLOCK_SKEW, future_as_of

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_an_as_of_may_run_ahead_of_the_clock_by_clock_skew_only() -> None:
    assert not future_as_of(NOW - timedelta(days=400), NOW)
    assert not future_as_of(NOW, NOW)
    assert not future_as_of(NOW + CLOCK_SKEW, NOW)
    assert future_as_of(NOW + CLOCK_SKEW + timedelta(seconds=1), NOW)
    assert future_as_of(NOW + timedelta(days=365), NOW)
