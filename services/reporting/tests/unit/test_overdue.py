"""Overdue, as the sessions service decides it: open and due before now, to the instant, whatever
time of day and zone the step is due in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from reporting.kpis.repository import current_state
from reporting.programs.domain import ProgramCopy
from reporting.projections.domain import due_key, overdue_at

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14


def _overdue(due: dict[str, int], now: datetime = NOW) -> int:
    program = ProgramCopy(program_id="p", name="P", status="running", cadence="weekly")
    return current_state({"due": due}, program, now).overdue_actions


def test_a_step_due_late_in_the_day_far_east_is_overdue_from_that_instant() -> None:
    # 23:30 on 2 March in Kiritimati is 09:30 UTC on 2 March: half an hour before NOW, the same
    # UTC day (counting by UTC day said "not overdue" until 3 March).
    due = datetime(2026, 3, 2, 23, 30, tzinfo=KIRITIMATI)
    assert due.astimezone(UTC) == NOW - timedelta(minutes=30)
    assert _overdue({due_key(due): 1}) == 1
    assert _overdue({due_key(due): 1}, now=due) == 0  # at the due instant: not yet
    assert _overdue({due_key(due): 1}, now=due + timedelta(microseconds=1)) == 1


def test_a_step_due_later_today_utc_is_not_overdue() -> None:
    later = datetime(2026, 3, 3, 0, 30, tzinfo=KIRITIMATI)  # 10:30 UTC on 2 March
    assert _overdue({due_key(later): 2, due_key(NOW): 1}) == 0


def test_day_buckets_written_before_instants_count_from_the_day_after() -> None:
    assert _overdue({"2026-03-01": 2, "2026-03-02": 5, due_key(NOW - timedelta(hours=1)): 1}) == 3


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, KIRITIMATI, ZoneInfo("Pacific/Pago_Pago")]),
    ),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_overdue_is_the_sessions_rule_due_before_now(due: datetime, now: datetime) -> None:
    stored = due.replace(microsecond=due.microsecond // 1000 * 1000)  # as the database keeps it
    assert overdue_at(due_key(due), now) == (stored < now)
