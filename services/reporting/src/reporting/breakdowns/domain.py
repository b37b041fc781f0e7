"""Privacy-safe breakdowns: k-anonymity with complementary suppression. Pure.

A breakdown splits a program's participants by one attribute (department, level, location);
people who did not consent to reporting, or whose attribute is unknown, form one cell of their
own. The rules, applied to the number of people in each cell:

1. primary suppression: a cell with fewer than ``k`` people shows no figure;
2. complementary suppression: the program's totals are public (the summary shows them), so one
   hidden cell could be worked out as total minus the others. Whenever cells are hidden, at least
   two are, and together they hold at least ``k`` people; the smallest visible cells are hidden
   too until that holds;
3. when the whole program has fewer than ``k`` people, every cell is hidden.

Only counts ever leave: no cell names a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

NOT_REPORTED = "(not reported)"
POPULATION = "participants"


@dataclass(frozen=True)
class Cell:
    value: str
    metrics: Mapping[str, int]
    suppressed: bool = False
    reason: str | None = None

    @property
    def people(self) -> int:
        return int(self.metrics.get(POPULATION, 0))


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    k: int
    cells: list[Cell] = field(default_factory=list)


def suppress(cells: Sequence[Cell], k: int) -> list[Cell]:
    """The cells with the rules above applied; order: largest first, then by value."""
    if k < 1:
        raise ValueError("k must be at least 1")
    present = sorted((c for c in cells if c.people > 0), key=lambda c: (-c.people, c.value))
    hidden: dict[str, str] = {}
    if sum(c.people for c in present) < k:
        hidden = {c.value: "program_below_k" for c in present}
    else:
        hidden = {c.value: "below_k" for c in present if c.people < k}
        visible = [c for c in present if c.value not in hidden]  # largest first
        while (
            hidden
            and visible
            and (len(hidden) < 2 or sum(c.people for c in present if c.value in hidden) < k)
        ):
            smallest = visible.pop()
            hidden[smallest.value] = "complementary"
    return [Cell(c.value, {}, True, hidden[c.value]) if c.value in hidden else c for c in present]


def cells_from_people(
    people: Sequence[Mapping[str, object]], dimension: str, metrics: Sequence[str]
) -> list[Cell]:
    """Count people per value of ``dimension``; each person is a mapping of 0/1 metric flags
    plus ``attributes`` (None when not consented)."""
    counts: dict[str, dict[str, int]] = {}
    for person in people:
        attributes = person.get("attributes")
        value = attributes.get(dimension) if isinstance(attributes, Mapping) else None
        label = str(value) if value else NOT_REPORTED
        cell = counts.setdefault(label, dict.fromkeys(metrics, 0))
        for metric in metrics:
            cell[metric] += 1 if person.get(metric) else 0
    return [Cell(value, cell) for value, cell in counts.items()]
