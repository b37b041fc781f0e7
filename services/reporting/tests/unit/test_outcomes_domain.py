"""The outcome figures' pure rules: NPS, what the disclosure rule lets an average say, and
retention against the company."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from reporting.disclosure.domain import DisclosureRule
from reporting.outcomes.domain import (
    Headcount,
    Participants,
    Question,
    Retention,
    Survey,
    Tally,
    nps_score,
    outcomes,
    retention,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULE = DisclosureRule(5, T0 + timedelta(days=60))
TRUST = Question("trust", "scale", "I can be open in my group", True, 1, 5)


def pulse(survey_id: str, closed: bool = True) -> Survey:
    return Survey(
        survey_id,
        "pulse",
        f"g-{survey_id}",
        8,
        [TRUST],
        T0,
        T0 + timedelta(days=7),
        T0 + timedelta(days=7) if closed else None,
    )


def tally(values: list[int]) -> Tally:
    given: dict[int, int] = {}
    for v in values:
        given[v] = given.get(v, 0) + 1
    return Tally(responded=len(values), given={"trust": given})


def test_nps_is_promoters_minus_detractors_in_points() -> None:
    assert nps_score([10, 9, 8, 7, 6, 0]) == round(100 * (2 - 2) / 6, 1)
    assert nps_score([10, 10, 10, 3]) == 50.0
    assert nps_score([]) is None


@given(
    shown=st.lists(st.integers(1, 5), min_size=5, max_size=20),
    small=st.lists(st.integers(1, 5), min_size=1, max_size=4),
)
def test_a_pooled_mean_never_moves_by_fewer_than_k_peoples_answers(
    shown: list[int], small: list[int]
) -> None:
    """Adding a closed pulse of fewer than k answers changes no served figure but counts (in
    steps of k): a sponsor comparing the two readings learns nothing of those answers."""
    before = outcomes("prg", RULE, [pulse("a")], {"a": tally(shown)}, retention_none())
    after = outcomes(
        "prg",
        RULE,
        [pulse("a"), pulse("b")],
        {"a": tally(shown), "b": tally(small)},
        retention_none(),
    )
    assert after.pulse[0].mean == before.pulse[0].mean == round(sum(shown) / len(shown), 2)
    assert after.surveys[1].means[0].mean is None
    assert after.pulse[0].answers % 5 == 0


def test_an_open_survey_says_no_average_and_out_of_range_numbers_count_nowhere() -> None:
    values = [5, 4, 4, 5, 3, 4]
    opened = outcomes(
        "prg", RULE, [pulse("a", closed=False)], {"a": tally(values)}, retention_none()
    )
    assert opened.surveys[0].means[0].mean is None and opened.pulse[0].mean is None
    odd = Tally(responded=7, given={"trust": {5: 3, 4: 3, 9: 1}})  # 9 is out of a 1-5 scale
    closed = outcomes("prg", RULE, [pulse("a")], {"a": odd}, retention_none())
    assert closed.surveys[0].means[0].mean == round(27 / 6, 2)


def retention_none() -> Retention:
    return retention(RULE, None, Headcount(0, {}), Participants(0, 0, {}))


def test_retention_counts_who_left_since_the_start_against_the_other_employees() -> None:
    start = T0
    company = Headcount(
        employees=200,
        terminated_by_day={"2026-02-01": 10, "2026-03-10": 30, "2026-04-01": 12},
    )
    program = Participants(
        participants=42, known=40, terminated_by_day={"2026-02-01": 2, "2026-03-10": 6}
    )
    figures = retention(RULE, start, company, program)
    # participants at risk: 42 - 2 who left before; others: 200 - 10 - (40 - 2)
    assert (figures.participants, figures.participants_terminated) == (40, 5)
    assert (figures.others, figures.others_terminated) == (150, 35)  # 152 and 36, released
    assert figures.participants_terminated_share == round(5 / 40, 4)
    assert figures.others_terminated_share == round(35 / 150, 4)
