"""Who a survey still owes an answer and when they are nudged: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reminders.broadcasts.domain import ProgramRoster
from reminders.surveys.domain import OpenSurvey, asked, nudge_ids, nudge_times, plans
from roundtable_shared.events.catalogue.enrollment import SurveyKind
from roundtable_shared.events.catalogue.reminders import ReminderKind

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ROSTER = ProgramRoster(
    active=frozenset({"emp_a", "emp_b", "emp_c"}), grouped=frozenset(), met_this_month=frozenset()
)


def survey(kind: SurveyKind, days_open: float, group_id: str | None = None) -> OpenSurvey:
    return OpenSurvey("srv_1", "prg_1", kind, group_id, T0, T0 + days_open * DAY)


def test_a_two_week_survey_nudges_after_three_days_and_two_days_before_it_closes() -> None:
    assert nudge_times(T0, T0 + 14 * DAY) == {
        "after-opening": T0 + 3 * DAY,
        "before-closing": T0 + 12 * DAY,
    }


def test_a_short_survey_nudges_once_and_never_at_or_after_its_close() -> None:
    # 4 days: day 3 comes after "2 days before closing" (day 2): one nudge, on day 2
    assert nudge_times(T0, T0 + 4 * DAY) == {"before-closing": T0 + 2 * DAY}
    # 5.5 days: day 3 and day 3.5 are half a day apart: the closing one only
    assert nudge_times(T0, T0 + 5.5 * DAY) == {"before-closing": T0 + 3.5 * DAY}
    # 2 days: "2 days before closing" is the opening itself, day 3 is past the close: none
    assert nudge_times(T0, T0 + 2 * DAY) == {}
    for hours in range(1, 24 * 20):
        closes = T0 + timedelta(hours=hours)
        assert all(T0 < at < closes for at in nudge_times(T0, closes).values())


def test_a_pulse_asks_its_group_and_any_other_survey_the_active_participants() -> None:
    pulse = survey(SurveyKind.PULSE, 7, "grp_1")
    assert asked(pulse, ROSTER, ["emp_b", "emp_z", "emp_b"]) == ["emp_b", "emp_z"]
    assert asked(survey(SurveyKind.POST_PROGRAM, 7), ROSTER, ["emp_z"]) == [
        "emp_a",
        "emp_b",
        "emp_c",
    ]


def test_nudges_are_one_per_person_and_time_with_ids_an_answer_can_cancel() -> None:
    post = survey(SurveyKind.POST_PROGRAM, 14)
    planned = plans(post, ["emp_a", "emp_c", "emp_a"], now=T0)
    assert sorted((p.recipient_id, p.due_at) for p in planned) == [
        ("emp_a", T0 + 3 * DAY),
        ("emp_a", T0 + 12 * DAY),
        ("emp_c", T0 + 3 * DAY),
        ("emp_c", T0 + 12 * DAY),
    ]
    assert {p.kind for p in planned} == {ReminderKind.SURVEY_NUDGE}
    assert {p.reminder_id for p in planned if p.recipient_id == "emp_a"} == set(
        nudge_ids("srv_1", ["emp_a"])
    )
    assert plans(post, ["emp_a"], now=post.closes_at) == []  # an old opening, read late
