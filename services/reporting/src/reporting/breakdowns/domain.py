"""Breakdowns of a program's participants by one attribute. Pure.

A breakdown splits a program's participants by one attribute (department, level, location);
people who did not consent to reporting, or whose attribute is unknown, count as
"(not reported)". Which cells are shown, and what their counts say, is the disclosure rule's
(reporting.disclosure, rule 4): a value held by fewer than k people is pooled into "(other)",
and every count is released in steps of k. Only counts ever leave: no cell names a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reporting.disclosure.domain import Cell

NOT_REPORTED = "(not reported)"


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    k: int
    cells: list[Cell] = field(default_factory=list)


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
