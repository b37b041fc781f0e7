"""Pure rules with a controlled clock: quiet hours across DST and in UTC+13, backoff, planning."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from reminders.preferences.domain import (
    Preferences,
    QuietHours,
    quiet_hours_end,
    release_time,
    zone,
)
from reminders.schedule import domain
from roundtable_shared.events.catalogue.enrollment import Cadence, ReminderSettings
from roundtable_shared.events.catalogue.reminders import ReminderKind
from roundtable_shared.events.catalogue.sessions import ActionCommitted, SessionScheduled

NIGHT = QuietHours(start=time(22, 0), end=time(7, 0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_reminder_inside_quiet_hours_is_held_to_their_end_in_the_persons_zone() -> None:
    # 23:30 in Berlin (CET, UTC+1) -> held to 07:00 CET = 06:00 UTC.
    assert quiet_hours_end(utc(2026, 1, 14, 22, 30), NIGHT, zone("Europe/Berlin")) == utc(
        2026, 1, 15, 6, 0
    )
    # 12:00 in Berlin: not quiet.
    assert quiet_hours_end(utc(2026, 1, 14, 11, 0), NIGHT, zone("Europe/Berlin")) is None


def test_quiet_hours_end_at_local_seven_across_the_spring_forward_night() -> None:
    # Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 29 March 2026: 07:00 is 05:00 UTC then,
    # but 06:00 UTC the night before. A fixed UTC offset would be an hour late.
    assert quiet_hours_end(utc(2026, 3, 28, 23, 0), NIGHT, zone("Europe/Berlin")) == utc(
        2026, 3, 29, 5, 0
    )
    assert quiet_hours_end(utc(2026, 3, 27, 23, 0), NIGHT, zone("Europe/Berlin")) == utc(
        2026, 3, 28, 6, 0
    )


def test_quiet_hours_ending_inside_the_skipped_hour_end_after_the_gap() -> None:
    gap = QuietHours(start=time(1, 0), end=time(2, 30))  # 02:30 does not exist on 29 March
    end = quiet_hours_end(utc(2026, 3, 29, 0, 30), gap, zone("Europe/Berlin"))
    assert end == utc(2026, 3, 29, 1, 30)  # 03:30 CEST, the first instant the clock passes 02:30


def test_a_person_in_utc_plus_13_is_held_to_their_own_morning_a_calendar_day_ahead() -> None:
    # 10:00 UTC on 14 Jan is 23:00 on 14 Jan in Tonga (UTC+13): held to 07:00 on 15 Jan there,
    # which is 18:00 UTC on 14 Jan.
    tonga = zone("Pacific/Tongatapu")
    assert quiet_hours_end(utc(2026, 1, 14, 10, 0), NIGHT, tonga) == utc(2026, 1, 14, 18, 0)
    # 19:00 UTC is 08:00 the next day there: daytime, sent now.
    assert quiet_hours_end(utc(2026, 1, 14, 19, 0), NIGHT, tonga) is None
    # Auckland in its summer is UTC+13 too (NZDT).
    auckland = zone("Pacific/Auckland")
    assert quiet_hours_end(utc(2026, 1, 14, 10, 0), NIGHT, auckland) == utc(2026, 1, 14, 18, 0)


def test_daytime_quiet_hours_do_not_wrap_midnight() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(13, 0))
    assert quiet_hours_end(utc(2026, 6, 1, 12, 30), lunch, zone("UTC")) == utc(2026, 6, 1, 13, 0)
    assert quiet_hours_end(utc(2026, 6, 1, 13, 0), lunch, zone("UTC")) is None


def test_snooze_then_quiet_hours_and_the_override_zone_wins_over_the_directory() -> None:
    prefs = Preferences(
        quiet_hours=NIGHT, time_zone="Pacific/Tongatapu", snoozed_until=utc(2026, 1, 14, 9, 0)
    )
    # Snoozed to 09:00 UTC = 22:00 in Tonga: quiet, so 07:00 there = 18:00 UTC.
    assert release_time(utc(2026, 1, 14, 8, 0), prefs, "Europe/Berlin") == utc(2026, 1, 14, 18, 0)
    assert release_time(utc(2026, 1, 14, 8, 0), Preferences(), None) == utc(2026, 1, 14, 8, 0)


@given(
    now=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    tz=st.sampled_from(["Europe/Berlin", "Pacific/Tongatapu", "America/New_York", "UTC"]),
)
def test_a_held_reminder_is_never_released_inside_quiet_hours_nor_more_than_a_day_late(
    now: datetime, tz: str
) -> None:
    instant = now.replace(tzinfo=UTC)
    end = quiet_hours_end(instant, NIGHT, zone(tz))
    if end is not None:
        assert instant < end <= instant + timedelta(hours=10)
        assert quiet_hours_end(end, NIGHT, zone(tz)) is None


@given(attempts=st.integers(min_value=1, max_value=200))
def test_backoff_doubles_and_stops_at_the_cap(attempts: int) -> None:
    delay = domain.retry_delay(attempts, 30, 3600).total_seconds()
    assert delay == min(30 * 2 ** (attempts - 1), 3600)


def test_a_session_plans_each_offset_per_attendee_and_drops_ones_already_past() -> None:
    starts = utc(2026, 5, 4, 15, 0)
    data = SessionScheduled(
        session_id="ses_1",
        group_id="grp_1",
        program_id="prg_1",
        title="s",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        time_zone="Europe/Berlin",
        attendee_ids=["a", "b"],
    )
    plans = domain.session_upcoming(data, 1, domain.ProgramRules())
    assert sorted((p.recipient_id, p.due_at) for p in plans) == [
        ("a", utc(2026, 5, 3, 15, 0)),
        ("a", utc(2026, 5, 4, 14, 0)),
        ("b", utc(2026, 5, 3, 15, 0)),
        ("b", utc(2026, 5, 4, 14, 0)),
    ]
    # Planned 3 hours ahead: the 24-hour reminder is moot, the 1-hour one stays.
    kept = domain.fresh(plans, utc(2026, 5, 4, 12, 0), timedelta(hours=24))
    assert {p.due_at for p in kept} == {utc(2026, 5, 4, 14, 0)}
    # Same event again: same ids, so storing it twice stores nothing new.
    again = domain.session_upcoming(data, 1, domain.ProgramRules())
    assert [p.reminder_id for p in plans] == [p.reminder_id for p in again]
    assert all(p.kind is ReminderKind.SESSION_UPCOMING for p in plans)


def test_the_program_decides_how_late_the_owner_and_partner_hear_of_an_overdue_step() -> None:
    due = utc(2026, 12, 4, 16, 0)
    step = ActionCommitted(
        action_id="a-1",
        session_id="s-1",
        group_id="g-1",
        program_id="p-1",
        owner_id="e-2",
        accountability_partner_id="e-3",
        title="Book a 1:1",
        due_at=due,
        committed_at=utc(2026, 12, 1, 9, 0),
    )
    settings = ReminderSettings(before_session_minutes=[60], before_action_due_hours=[24])

    def overdue_prompts(rules: domain.ProgramRules) -> dict[str, datetime]:
        plans = domain.action_steps(step, 1, rules)
        overdue = (ReminderKind.ACTION_OVERDUE, ReminderKind.ACTION_OVERDUE_OWNER)
        return {p.recipient_id: p.due_at for p in plans if p.kind in overdue}

    by_default = domain.ProgramRules.from_program(settings, Cadence.BIWEEKLY)
    assert overdue_prompts(by_default) == {
        "e-2": due + timedelta(days=2),
        "e-3": due + timedelta(days=2),
    }
    at_once = settings.model_copy(update={"overdue_after_days": 0})
    assert overdue_prompts(domain.ProgramRules.from_program(at_once, Cadence.BIWEEKLY)) == {
        "e-2": due,
        "e-3": due,
    }
    quiet_partner = settings.model_copy(update={"notify_partner_when_overdue": False})
    assert set(
        overdue_prompts(domain.ProgramRules.from_program(quiet_partner, Cadence.BIWEEKLY))
    ) == {"e-2"}


def test_one_rule_for_a_session_and_an_action_step_planned_after_their_reminders_passed() -> None:
    """Every advance reminder already past, the thing itself still ahead: the latest one goes at
    once, for a session as for an action step; once the thing itself has passed, none does."""
    now = utc(2026, 5, 4, 12, 0)
    stale = timedelta(hours=24)
    rules = domain.ProgramRules()  # sessions: 24 h and 1 h before; steps: 48 h and 8 h before
    starts = now + timedelta(minutes=30)
    session = SessionScheduled(
        session_id="ses_1",
        group_id="grp_1",
        program_id="prg_1",
        title="s",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        time_zone="UTC",
        attendee_ids=["a", "b"],
    )
    step = ActionCommitted(
        action_id="act_1",
        session_id="ses_1",
        group_id="grp_1",
        program_id="prg_1",
        owner_id="a",
        accountability_partner_id="b",
        title="t",
        due_at=now + timedelta(hours=3),
        committed_at=now,
    )
    kept = domain.fresh(
        domain.session_upcoming(session, 1, rules) + domain.action_steps(step, 1, rules),
        now,
        stale,
    )
    advance = sorted(
        (p.kind, p.recipient_id, p.due_at) for p in kept if p.kind in domain.ADVANCE_KINDS
    )
    assert advance == [
        (ReminderKind.ACTION_DUE, "a", step.due_at - timedelta(hours=8)),
        (ReminderKind.SESSION_UPCOMING, "a", starts - timedelta(hours=1)),
        (ReminderKind.SESSION_UPCOMING, "b", starts - timedelta(hours=1)),
    ]
    # Once the session has started and the step is due, neither is announced any more.
    later = starts + timedelta(hours=3)
    plans = domain.session_upcoming(session, 1, rules) + domain.action_steps(step, 1, rules)
    assert [p for p in domain.fresh(plans, later, stale) if p.kind in domain.ADVANCE_KINDS] == []
