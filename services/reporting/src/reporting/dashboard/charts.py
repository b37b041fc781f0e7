"""Server-rendered charts: inline SVG geometry computed here, drawn by the template. Pure.

No charting library and no JavaScript: nothing to download, nothing to serve from a CDN, and
the page renders the same in a browser, a PDF printer or a screenshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 640, 220, 32


@dataclass(frozen=True)
class Line:
    label: str
    css_class: str
    points: str  # SVG polyline points


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    lines: list[Line]
    x_labels: list[tuple[float, str]]
    y_max: float


def line_chart(weeks: Sequence[str], series: dict[str, Sequence[float]]) -> LineChart:
    y_max = max([1.0, *(v for values in series.values() for v in values)])
    n = max(len(weeks) - 1, 1)

    def x(i: int) -> float:
        return PAD + (WIDTH - 2 * PAD) * i / n

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / y_max

    lines = [
        Line(
            label,
            f"series-{k}",
            " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values)),
        )
        for k, (label, values) in enumerate(series.items())
    ]
    step = max(1, len(weeks) // 6)
    labels = [(x(i), week) for i, week in enumerate(weeks) if i % step == 0]
    return LineChart(WIDTH, HEIGHT, lines, labels, y_max)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: float
    y: float


def bar_chart(items: Sequence[tuple[str, int]], width: int = 440, row: int = 30) -> list[Bar]:
    top = max([1, *(v for _, v in items)])
    return [Bar(label, v, width * v / top, i * row) for i, (label, v) in enumerate(items)]
