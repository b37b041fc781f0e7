"""The disclosure-control rule: what any figure a sponsor or program admin sees may say. Pure.

One rule covers every figure reporting serves (summary, weekly series, funnel, breakdowns and
their sub-counts, withdrawals by reason, feedback averages, CSV, the dashboard), because every
endpoint builds its figures through a ``DisclosureRule`` and nothing else:

1. **Counts are released in steps of k.** A count ``n`` is shown as the multiple of ``k``
   nearest to it, halves up (k = 5: 0-2 -> 0, 3-7 -> 5, 8-12 -> 10). So every count served is a
   multiple of k, and so is every sum or difference of served counts: two snapshots, total minus
   the other cells, one stage minus the next. None of them can ever be 1 to k-1. No count is
   exact, not even a total of k or more: an exact total beside a rounded part pins the part's
   complement when the part crosses a rounding boundary (8 enrolled exactly, active falling from
   10 to 5: exactly one withdrawal), so the lattice has no exception.
2. **Ratios are computed from released counts only** (retention, rates, shares), so they say no
   more than the counts served beside them.
3. **Averages and medians of what people did or said** (ratings, recommend scores, days to
   complete a step) are computed only from *closed* weeks (ended ``GRACE`` or more ago, so
   nothing new lands in them) in which at least ``max(k, 3)`` distinct people contributed. Other
   weeks never count: a rating changes a served average only as part of a week of at least k
   people, and a member of a peer pair never sees an average the two of them alone make.
4. **Breakdown cells** show an attribute value only when k people or more hold it; the others
   are pooled into one "(other)" cell, itself shown only from k people. No label says why a
   value is missing (no "below k" versus "complementary"), and every count in a cell follows 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

# How long after a week ends its averages may first be shown: events arriving later than this
# (the projections lagging a week) are the rule's one unguarded path (docs/disclosure.md).
GRACE = timedelta(days=7)
# An average of two people's ratings tells each of them the other's: never fewer than three.
FEWEST_CONTRIBUTORS = 3
OTHER = "(other)"


@lru_cache(maxsize=4096)  # pure; every summary asks it of every week of the program
def week_end(week: str) -> datetime:
    """The instant an ISO week (``2026-W05``, UTC) ends: the next Monday at 00:00 UTC."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC) + timedelta(days=7)


@dataclass(frozen=True)
class DisclosureRule:
    """The rule for one viewer's request: ``k`` from the settings, ``now`` from the clock."""

    k: int
    now: datetime

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ValueError("k must be at least 2")

    def count(self, n: int) -> int:
        """Rule 1: ``n`` to the nearest multiple of k, halves up; never negative."""
        n = max(int(n), 0)
        return ((2 * n + self.k) // (2 * self.k)) * self.k

    @staticmethod
    def share(part: int, whole: int) -> float | None:
        """Rule 2: a ratio of two *released* counts, to 4 places; None without a whole."""
        return round(part / whole, 4) if whole else None

    @property
    def fewest_contributors(self) -> int:
        """Rule 3: the distinct people a week needs before its averages count."""
        return max(self.k, FEWEST_CONTRIBUTORS)

    def closed(self, week: str) -> bool:
        return week_end(week) + GRACE <= self.now

    def releases(self, week: str, contributors: int) -> bool:
        """Rule 3: whether a week's averages and medians may count."""
        return self.closed(week) and contributors >= self.fewest_contributors

    def cells(self, cells: Iterable[Cell]) -> list[Cell]:
        """Rule 4: the breakdown cells to show, largest first, every count released."""
        shown: list[Cell] = []
        other: dict[str, int] = {}
        for cell in cells:
            if cell.people >= self.k and cell.value != OTHER:
                shown.append(cell)
            else:
                for name, n in cell.metrics.items():
                    other[name] = other.get(name, 0) + int(n)
        pooled = Cell(OTHER, other)
        if pooled.people >= self.k:
            shown.append(pooled)
        shown.sort(key=lambda c: (c.value == OTHER, -c.people, c.value))
        return [Cell(c.value, {m: self.count(n) for m, n in c.metrics.items()}) for c in shown]


POPULATION = "participants"


@dataclass(frozen=True)
class Cell:
    """People holding one attribute value: ``participants`` and 0/1 sub-counts summed."""

    value: str
    metrics: Mapping[str, int]

    @property
    def people(self) -> int:
        return int(self.metrics.get(POPULATION, 0))


@dataclass(frozen=True)
class WeekContribution:
    """What one week adds to an average (``total`` over ``n`` values) or a median
    (``histogram``), and how many distinct people gave it."""

    week: str
    contributors: int
    n: int = 0
    total: int = 0
    histogram: Mapping[int, int] | None = None


def released_weeks(
    rule: DisclosureRule, weeks: Iterable[WeekContribution]
) -> list[WeekContribution]:
    return [w for w in weeks if w.n > 0 and rule.releases(w.week, w.contributors)]


def released_average(
    rule: DisclosureRule, weeks: Iterable[WeekContribution], places: int = 2
) -> tuple[int, float | None]:
    """Rule 3 for an average: (how many values, released as a count; their mean or None)."""
    kept = released_weeks(rule, weeks)
    n, total = sum(w.n for w in kept), sum(w.total for w in kept)
    return rule.count(n), (round(total / n, places) if n else None)


def released_histogram(rule: DisclosureRule, weeks: Iterable[WeekContribution]) -> dict[int, int]:
    """Rule 3 for a median: the merged histogram of the released weeks."""
    merged: dict[int, int] = {}
    for w in released_weeks(rule, weeks):
        for value, n in (w.histogram or {}).items():
            merged[value] = merged.get(value, 0) + n
    return merged
