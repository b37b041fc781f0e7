"""When a person's daily digest goes out: their local wall time, across DST and in UTC+13."""

from __future__ import annotations

from datetime import UTC, datetime, time

from reminders.preferences.domain import next_digest_at, zone

EIGHT = time(8, 0)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_digest_keeps_local_eight_across_both_berlin_dst_changes() -> None:
    berlin = zone("Europe/Berlin")
    assert next_digest_at(utc(2026, 3, 28, 10, 0), EIGHT, berlin) == utc(2026, 3, 29, 6, 0)
    assert next_digest_at(utc(2026, 3, 27, 10, 0), EIGHT, berlin) == utc(2026, 3, 28, 7, 0)
    # Clocks go back on 25 October: 08:00 CET is 07:00 UTC again.
    assert next_digest_at(utc(2026, 10, 24, 12, 0), EIGHT, berlin) == utc(2026, 10, 25, 7, 0)


def test_a_digest_time_the_spring_forward_skips_is_read_after_the_gap() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026; it is read as 03:30 CEST (01:30 UTC).
    assert next_digest_at(utc(2026, 3, 28, 12, 0), time(2, 30), zone("Europe/Berlin")) == utc(
        2026, 3, 29, 1, 30
    )


def test_the_digest_is_today_when_its_time_is_still_ahead_and_tomorrow_once_it_passed() -> None:
    auckland = zone("Pacific/Auckland")  # UTC+13 in January
    # 19:00 UTC on 14 Jan is 08:00 on 15 Jan in Auckland: exactly now is not "after now".
    assert next_digest_at(utc(2026, 1, 14, 18, 59), EIGHT, auckland) == utc(2026, 1, 14, 19, 0)
    assert next_digest_at(utc(2026, 1, 14, 19, 0), EIGHT, auckland) == utc(2026, 1, 15, 19, 0)
