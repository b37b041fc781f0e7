"""The disclosure-control rule, played by an attacker.

A population of participants is turned into the counters the projections keep, and into every
figure reporting serves from them (summary, weekly series, funnel, breakdown: what the JSON, the
CSV and the dashboard show). The attacker polls before and after one person's change (added,
removed, withdrawn, moved to "(not reported)" by an erasure, a rating given or changed) and
subtracts: no figure, and no difference of figures, may be a count of 1 to k-1, and no rating
may be told apart from the others of its week.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting.breakdowns.domain import NOT_REPORTED, Breakdown, cells_from_people
from reporting.breakdowns.schemas import BreakdownOut
from reporting.disclosure.domain import GRACE, OTHER, Cell, DisclosureRule, week_end
from reporting.kpis.domain import CurrentState, WeekRow, Weeks, funnel, summary, time_series
from reporting.kpis.repository import total_weeks

WEEKS = [f"2026-W{n:02d}" for n in range(1, 11)]
DEPARTMENTS = ["Finance", "Legal", "Sales"]
REASONS = ["self", "terminated", "admin", "erased"]
METRICS = ("participants", "active", "matched", "first_session", "three_sessions")


@dataclass(frozen=True)
class Rating:
    week: int  # index into WEEKS
    rating: int
    recommend: int | None


@dataclass(frozen=True)
class Person:
    name: str
    department: str | None  # None: no consent, or erased
    enrolled_week: int
    withdrawn: tuple[str, int] | None = None  # reason, week index
    matched: bool = False
    sessions: int = 0
    ratings: tuple[Rating, ...] = ()
    completions: tuple[tuple[int, int], ...] = ()  # (week index, days to complete)


@dataclass
class Population:
    people: list[Person]
    # what does not belong to one person: sessions and reminders, counted per week
    other: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    now_state: CurrentState = field(default_factory=CurrentState)


def counters(population: Population) -> tuple[Weeks, Weeks]:
    """What the projections keep: per week and family, and the program's totals."""
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    funnel_totals: dict[str, int] = defaultdict(int)
    raters: dict[str, set[str]] = defaultdict(set)
    recommenders: dict[str, set[str]] = defaultdict(set)
    completers: dict[str, set[str]] = defaultdict(set)
    for p in population.people:
        rows[(WEEKS[p.enrolled_week], "participants")]["enrolled"] += 1
        if p.withdrawn:
            reason, week = p.withdrawn
            row = rows[(WEEKS[max(week, p.enrolled_week)], "participants")]
            row["withdrawn"] += 1
            row[f"withdrawn_{reason}"] += 1
        funnel_totals["enrolled"] += 1
        funnel_totals["matched"] += int(p.matched)
        funnel_totals["first_session"] += int(p.sessions >= 1)
        funnel_totals["three_sessions"] += int(p.sessions >= 3)
        for r in p.ratings:
            week = WEEKS[r.week]
            row = rows[(week, "feedback")]
            row["ratings"] += 1
            row["rating_sum"] += r.rating
            raters[week].add(p.name)
            if r.recommend is not None:
                row["recommend_count"] += 1
                row["recommend_sum"] += r.recommend
                recommenders[week].add(p.name)
        for week_index, days in p.completions:
            week = WEEKS[week_index]
            row = rows[(week, "actions")]
            row["committed"] += 1
            row["completed"] += 1
            row[f"days_{days}"] += 1
            completers[week].add(p.name)
    for week, names in raters.items():
        rows[(week, "feedback")]["raters"] = len(names)
    for week, names in recommenders.items():
        rows[(week, "feedback")]["recommenders"] = len(names)
    for week, names in completers.items():
        rows[(week, "actions")]["completers"] = len(names)
    for key, counts in population.other.items():
        for name, n in counts.items():
            rows[key][name] += n
    by_week = [WeekRow(week, family, dict(c)) for (week, family), c in rows.items()]
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in by_week:
        for name, n in row.counts.items():
            totals[row.family][name] += n
    totals["funnel"] = funnel_totals
    return total_weeks({"c": totals}), Weeks(by_week)


def breakdown_people(population: Population) -> list[dict[str, Any]]:
    return [
        {
            "attributes": {"department": p.department} if p.department else None,
            "participants": 1,
            "active": int(p.withdrawn is None),
            "matched": int(p.matched),
            "first_session": int(p.sessions >= 1),
            "three_sessions": int(p.sessions >= 3),
        }
        for p in population.people
    ]


def served(population: Population, rule: DisclosureRule) -> dict[str, Any]:
    """Every figure reporting serves of the program (JSON; CSV and dashboard show the same)."""
    totals, by_week = counters(population)
    cells = rule.cells(cells_from_people(breakdown_people(population), "department", METRICS))
    return {
        "summary": summary("p", totals, by_week, population.now_state, rule).model_dump(),
        "series": [p.model_dump() for p in time_series(by_week, rule, WEEKS[0], WEEKS[-1])],
        "funnel": funnel("p", totals, rule).model_dump(),
        "breakdown": BreakdownOut.of("p", Breakdown("department", rule.k, cells)).model_dump()[
            "cells"
        ],
    }


def figures(value: Any, path: str = "") -> dict[str, float]:
    """Every number served, by its path: what an attacker can subtract."""
    if isinstance(value, dict):
        key = value.get("value") or value.get("week") or value.get("stage")
        out: dict[str, float] = {}
        for name, v in value.items():
            out |= figures(v, f"{path}{key + '.' if key else ''}{name}.")
        return out
    if isinstance(value, list):
        out = {}
        for v in value:
            out |= figures(v, path)
        return out
    if isinstance(value, bool) or not isinstance(value, int | float):
        return {}
    return {path.rstrip("."): value}


def counts_of(served_figures: dict[str, float]) -> dict[str, int]:
    return {path: int(v) for path, v in served_figures.items() if isinstance(v, int)}


# --- strategies ----------------------------------------------------------------------------------

ratings = st.builds(
    Rating,
    st.integers(0, len(WEEKS) - 1),
    st.integers(1, 5),
    st.one_of(st.none(), st.integers(0, 10)),
)
people_strategy = st.lists(
    st.builds(
        Person,
        name=st.just(""),
        department=st.sampled_from([*DEPARTMENTS, None]),
        enrolled_week=st.integers(0, len(WEEKS) - 1),
        withdrawn=st.one_of(
            st.none(), st.tuples(st.sampled_from(REASONS), st.integers(0, len(WEEKS) - 1))
        ),
        matched=st.booleans(),
        sessions=st.integers(0, 4),
        ratings=st.lists(ratings, max_size=3).map(tuple),
        completions=st.lists(
            st.tuples(st.integers(0, len(WEEKS) - 1), st.integers(0, 20)), max_size=2
        ).map(tuple),
    ),
    max_size=40,
).map(lambda people: [replace(p, name=f"p{n}") for n, p in enumerate(people)])
other_counts = st.dictionaries(
    st.tuples(st.sampled_from(WEEKS), st.sampled_from(["sessions", "reminders", "groups"])),
    st.fixed_dictionaries(
        {
            "scheduled": st.integers(0, 9),
            "held": st.integers(0, 9),
            "attended": st.integers(0, 30),
            "invited": st.integers(0, 30),
            "sent": st.integers(0, 9),
            "failed": st.integers(0, 3),
            "formed": st.integers(0, 3),
            "met": st.integers(0, 3),
        }
    ),
    max_size=6,
)
current = st.builds(
    CurrentState,
    overdue_actions=st.integers(0, 12),
    active_groups=st.integers(0, 12),
    engaged_groups=st.integers(0, 12),
)
populations = st.builds(Population, people_strategy, other_counts, current)
ks = st.integers(2, 10)
# from the middle of the weeks (some closed, some open) to well after the last one
nows = st.integers(3 * 24, 12 * 7 * 24).map(
    lambda hours: week_end(WEEKS[0]) + timedelta(hours=hours)
)


def neighbours(population: Population, draw: st.DrawFn) -> Population:
    """The same program after one person's change, as it happens in the open week."""
    people = list(population.people)
    last = len(WEEKS) - 1
    change = draw(st.sampled_from(["add", "remove", "withdraw", "erase", "move", "rate"]))
    if change == "add" or not people:
        people.append(
            Person(f"p{len(people)}", draw(st.sampled_from([*DEPARTMENTS, None])), last, None)
        )
        return replace(population, people=people)
    i = draw(st.integers(0, len(people) - 1))
    target = people[i]
    if change == "remove":
        del people[i]
    elif change == "withdraw":
        people[i] = replace(target, withdrawn=(draw(st.sampled_from(REASONS)), last))
    elif change == "erase":  # an erasure moves them to "(not reported)", counts stay
        people[i] = replace(target, department=None)
    elif change == "move":
        people[i] = replace(target, department=draw(st.sampled_from(DEPARTMENTS)))
    else:
        rating = Rating(
            last, draw(st.integers(1, 5)), draw(st.one_of(st.none(), st.integers(0, 10)))
        )
        people[i] = replace(target, ratings=(*target.ratings, rating))
    return replace(population, people=people)


# --- rule 1: counts in steps of k ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "released"),
    [
        (5, {0: 0, 1: 0, 2: 0, 3: 5, 4: 5, 5: 5, 7: 5, 8: 10, 12: 10, 13: 15, 120: 120}),
        (2, {0: 0, 1: 2, 2: 2, 3: 4}),
        (10, {4: 0, 5: 10, 14: 10, 15: 20}),
    ],
)
def test_counts_go_to_the_nearest_multiple_of_k_halves_up(k: int, released: dict[int, int]) -> None:
    rule = DisclosureRule(k, week_end(WEEKS[0]))
    assert {n: rule.count(n) for n in released} == released
    assert rule.count(-3) == 0  # a derived count never goes below zero


def test_k_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        DisclosureRule(1, week_end(WEEKS[0]))


@settings(max_examples=150, deadline=None)
@given(populations, ks, nows)
def test_every_count_served_is_a_multiple_of_k(
    population: Population, k: int, now: datetime
) -> None:
    """So is every sum and difference of served counts: no view, and no subtraction of views
    (total minus cells, one stage minus the next, enrolled minus active), gives 1 to k-1."""
    rule = DisclosureRule(k, now)
    counts = counts_of(figures(served(population, rule)))
    assert counts, "something is served"
    bad = {path: n for path, n in counts.items() if path != "k" and n % k}
    assert not bad


@settings(max_examples=150, deadline=None)
@given(populations, ks, nows, st.integers(0, 21), st.data())
def test_two_snapshots_around_one_persons_change_differ_in_whole_steps_of_k(
    population: Population, k: int, now: datetime, hours_later: int, data: st.DataObject
) -> None:
    """The sponsor polls, one person changes (joins, leaves, withdraws, is erased, moves
    department, rates a session), the sponsor polls again: every served figure moved by 0 or
    by k or more, so the difference names no count of 1 to k-1."""
    before = counts_of(figures(served(population, DisclosureRule(k, now))))
    changed = neighbours(population, data.draw)
    after = counts_of(
        figures(served(changed, DisclosureRule(k, now + timedelta(hours=hours_later))))
    )
    for path in before.keys() | after.keys():
        difference = after.get(path, 0) - before.get(path, 0)
        assert difference % k == 0, (path, before.get(path), after.get(path))
        assert difference == 0 or abs(difference) >= k


# --- rule 3: averages of closed weeks with enough people -----------------------------------------


def _rating_figures(population: Population, rule: DisclosureRule) -> dict[str, float]:
    return figures(served(population, rule))


def _week_raters(population: Population, week: int) -> int:
    return sum(any(r.week == week for r in p.ratings) for p in population.people)


@settings(max_examples=150, deadline=None)
@given(populations, ks, nows, st.data())
def test_a_rating_in_a_week_not_released_changes_no_figure(
    population: Population, k: int, now: datetime, data: st.DataObject
) -> None:
    """A rating in an open week, or in a week with fewer than max(k, 3) raters, is invisible:
    whatever its value, every figure served is the same. Polling before and after a lone
    rating recovers nothing."""
    rule = DisclosureRule(k, now)
    week = data.draw(st.integers(0, len(WEEKS) - 1))
    rater = Person("target", None, 0, ratings=(Rating(week, 1, 0),))
    with_one = Population([*population.people, rater], population.other, population.now_state)
    held_back = not rule.closed(WEEKS[week]) or _week_raters(with_one, week) < max(k, 3)
    if not held_back:
        return
    baseline = _rating_figures(with_one, rule)
    for value in range(1, 6):
        for recommend in (None, 0, 10):
            other = replace(rater, ratings=(Rating(week, value, recommend),))
            changed = Population(
                [*population.people, other], population.other, population.now_state
            )
            assert _rating_figures(changed, rule) == baseline, (value, recommend)


@settings(max_examples=100, deadline=None)
@given(populations, ks, nows, st.data())
def test_the_ratings_of_one_week_cannot_be_told_apart(
    population: Population, k: int, now: datetime, data: st.DataObject
) -> None:
    """Swapping two people's ratings (or days to complete) within a week changes nothing served:
    a week counts only through its sums, so no figure, and no difference of two snapshots
    around a week's release, singles out one person's rating."""
    raters = [(i, j) for i, p in enumerate(population.people) for j in range(len(p.ratings))]
    if len(raters) < 2:
        return
    (i, a), (j, b) = data.draw(
        st.lists(st.sampled_from(raters), min_size=2, max_size=2, unique=True)
    )
    first, second = population.people[i].ratings[a], population.people[j].ratings[b]
    if first.week != second.week or i == j:
        return
    people = list(population.people)
    swapped_first = replace(first, rating=second.rating, recommend=second.recommend)
    swapped_second = replace(second, rating=first.rating, recommend=first.recommend)
    people[i] = replace(people[i], ratings=_replaced(people[i].ratings, a, swapped_first))
    people[j] = replace(people[j], ratings=_replaced(people[j].ratings, b, swapped_second))
    rule = DisclosureRule(k, now)
    swapped = Population(people, population.other, population.now_state)
    if (first.recommend is None) != (second.recommend is None):
        return  # who gave a score at all is part of the week's recommender count
    assert _rating_figures(swapped, rule) == _rating_figures(population, rule)


def _replaced(ratings: tuple[Rating, ...], index: int, new: Rating) -> tuple[Rating, ...]:
    return tuple(new if n == index else r for n, r in enumerate(ratings))


@pytest.mark.parametrize("k", [2, 3, 5])
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 20))
def test_a_peer_pair_never_learns_the_others_rating(
    k: int, mine: int, theirs: int, sessions: int
) -> None:
    """A pair rates its sessions, week after week, even with k = 2: whatever the other one
    says, every figure either of them can see is the same."""
    now = week_end(WEEKS[-1]) + timedelta(days=60)  # every week long closed
    rule = DisclosureRule(k, now)

    def pair(their_rating: int) -> Population:
        weeks = range(min(sessions, len(WEEKS)))
        return Population(
            [
                Person("a", "Finance", 0, ratings=tuple(Rating(w, mine, mine * 2) for w in weeks)),
                Person("b", "Finance", 0, ratings=tuple(Rating(w, their_rating, 9) for w in weeks)),
            ]
        )

    seen = served(pair(theirs), rule)
    assert seen == served(pair(1 if theirs != 1 else 5), rule)
    assert seen["summary"]["feedback"]["average_rating"] is None


def test_a_week_of_enough_raters_is_released_once_closed() -> None:
    """The positive case: the average does show, once a week is over and enough people rated."""
    people = [Person(f"p{n}", "Finance", 0, ratings=(Rating(2, 3 + n % 2, 8),)) for n in range(6)]
    population = Population(people)
    open_now = week_end(WEEKS[2]) + GRACE - timedelta(seconds=1)
    assert served(population, DisclosureRule(5, open_now))["summary"]["feedback"] == {
        "ratings": 0,
        "average_rating": None,
        "average_recommend_score": None,
    }
    closed_now = week_end(WEEKS[2]) + GRACE
    shown = served(population, DisclosureRule(5, closed_now))
    assert shown["summary"]["feedback"] == {
        "ratings": 5,  # six ratings, released as a count
        "average_rating": 3.5,
        "average_recommend_score": 8.0,
    }
    week = next(p for p in shown["series"] if p["week"] == WEEKS[2])
    assert week["average_rating"] == 3.5
    assert (
        served(population, DisclosureRule(7, closed_now))["summary"]["feedback"]["average_rating"]
        is None
    )  # six people are fewer than k = 7


def test_a_median_of_days_needs_a_closed_week_of_enough_people() -> None:
    people = [Person(f"p{n}", "Finance", 0, completions=((1, n),)) for n in range(5)]
    few = Population(people[:4])
    now = week_end(WEEKS[1]) + GRACE
    assert (
        served(few, DisclosureRule(5, now))["summary"]["actions"]["median_days_to_complete"] is None
    )
    enough = served(Population(people), DisclosureRule(5, now))
    assert enough["summary"]["actions"]["median_days_to_complete"] == 2.0
    # one person completing many steps is still one person
    busy = Person("busy", "Finance", 0, completions=tuple((1, d) for d in range(9)))
    alone = served(Population([busy]), DisclosureRule(5, now))
    assert alone["summary"]["actions"]["median_days_to_complete"] is None


# --- rule 4: breakdown cells ---------------------------------------------------------------------


def _cells(sizes: dict[str, int], k: int) -> list[Cell]:
    rule = DisclosureRule(k, week_end(WEEKS[0]))
    cells = [Cell(v, {"participants": n, "active": n - 1}) for v, n in sizes.items()]
    return rule.cells(cells)


def test_values_held_by_fewer_than_k_people_are_pooled_as_other() -> None:
    cells = _cells({"Finance": 8, "Legal": 3, "Sales": 6, "HR": 4, NOT_REPORTED: 2}, 5)
    assert [(c.value, dict(c.metrics)) for c in cells] == [
        ("Finance", {"participants": 10, "active": 5}),
        ("Sales", {"participants": 5, "active": 5}),
        (OTHER, {"participants": 10, "active": 5}),  # Legal, HR, (not reported): 9 people
    ]


def test_nothing_is_named_when_no_value_reaches_k() -> None:
    assert _cells({"Finance": 2, "Legal": 1}, 5) == []
    assert [c.value for c in _cells({"Finance": 2, "Legal": 1, "HR": 2}, 5)] == [OTHER]


def test_people_without_consent_count_as_not_reported() -> None:
    people = [
        {"attributes": {"department": "Finance"}, "participants": 1, "active": 1},
        {"attributes": None, "participants": 1, "active": 0},
        {"attributes": {"department": None}, "participants": 1, "active": 1},
    ]
    result = {
        c.value: dict(c.metrics)
        for c in cells_from_people(people, "department", ["participants", "active"])
    }
    assert result == {
        "Finance": {"participants": 1, "active": 1},
        NOT_REPORTED: {"participants": 2, "active": 1},
    }


@given(
    st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 30), max_size=8),
    st.integers(2, 10),
)
def test_cells_name_only_values_of_k_people_and_lose_no_one(sizes: dict[str, int], k: int) -> None:
    rule = DisclosureRule(k, week_end(WEEKS[0]))
    shown = rule.cells(Cell(v, {"participants": n}) for v, n in sizes.items())
    named = {c.value for c in shown} - {OTHER}
    assert named == {v for v, n in sizes.items() if n >= k}
    pooled = sum(n for v, n in sizes.items() if n < k)
    assert (OTHER in {c.value for c in shown}) == (pooled >= k)
    assert all(c.people % k == 0 for c in shown)
    assert all(set(c.metrics) == {"participants"} for c in shown)  # no reason, no flag


# --- time ----------------------------------------------------------------------------------------


def test_a_week_is_closed_a_grace_week_after_it_ends() -> None:
    end = week_end("2026-W05")
    assert end.isoformat() == "2026-02-02T00:00:00+00:00"  # the Monday after, UTC
    assert not DisclosureRule(5, end + GRACE - timedelta(microseconds=1)).closed("2026-W05")
    assert DisclosureRule(5, end + GRACE).closed("2026-W05")
    assert DisclosureRule(2, end + GRACE).fewest_contributors == 3
    assert DisclosureRule(8, end + GRACE).fewest_contributors == 8
