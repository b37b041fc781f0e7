"""Pure rules of pausing: what a held reminder becomes when its person resumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reminders.schedule import domain
from reminders.schedule.domain import NoticeKind
from roundtable_shared.events.catalogue.reminders import ReminderKind

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
STALE = timedelta(hours=24)


def test_a_held_reminder_still_ahead_keeps_its_own_time() -> None:
    due = NOW + timedelta(hours=5)
    assert domain.released_at(ReminderKind.SESSION_UPCOMING, due, NOW, STALE) == due


def test_a_held_reminder_that_fell_due_goes_out_at_once_while_still_worth_saying() -> None:
    due = NOW - timedelta(hours=3)
    assert domain.released_at(ReminderKind.ACTION_OVERDUE, due, NOW, STALE) == NOW
    assert domain.released_at(ReminderKind.PARTNER_THANKS, due, NOW, STALE) == NOW


def test_a_held_reminder_whose_moment_passed_is_dropped() -> None:
    # "Your session starts in an hour" three hours later is wrong, not late.
    late = NOW - timedelta(hours=3)
    assert domain.released_at(ReminderKind.SESSION_UPCOMING, late, NOW, STALE) is None
    # Anything from before a long leave is stale; the welcome back stands for it.
    old = NOW - timedelta(days=20)
    assert domain.released_at(ReminderKind.ACTION_OVERDUE, old, NOW, STALE) is None


def test_kinds_are_read_back_as_catalogue_kinds_or_notices() -> None:
    assert domain.kind_of("session_upcoming") is ReminderKind.SESSION_UPCOMING
    assert domain.kind_of("welcome_back") is ReminderKind.WELCOME_BACK
    assert domain.kind_of("digest") is NoticeKind.DIGEST
