"""The time as the rules see it.

Every rule that reads the time is given a ``Clock`` rather than calling ``datetime.now``, so a
test fixes the instant and its outcome does not depend on the day or hour it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Answers the current instant, timezone-aware in UTC."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def fixed_clock(instant: datetime) -> Clock:
    """A clock that always answers ``instant`` (tests, replays of a known history)."""
    return lambda: instant
