"""The overview's charts drawn as SVG on the server: the geometry of a line chart (active
keys per day) and a grouped bar chart (billable keys per month), for the templates in
portal/overview/ to write out.

Drawn here rather than in the browser so the page needs no script (nothing for the strict
CSP to allow), prints as it shows, and reads the same numbers as the table beside it.
Series are told apart by more than colour: each has its own dash and marker (lines) or
fill pattern (bars), and the legend shows them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from keyledger.billing.months import Month
from keyledger.reports.overview_charts import Chart

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 30
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Style:
    colour: str
    dash: str  # stroke-dasharray; "" for a solid line
    marker: str  # circle, square, triangle, diamond
    pattern: str  # solid, hatch, dots, cross


# Colours that stay apart for the common kinds of colour blindness (Okabe-Ito), each with its
# own dash, marker and fill pattern so that no series relies on colour alone.
STYLES = (
    Style("#0072b2", "", "circle", "solid"),
    Style("#d55e00", "7 4", "square", "hatch"),
    Style("#009e73", "2 3", "triangle", "dots"),
    Style("#cc79a7", "10 3 2 3", "diamond", "cross"),
    Style("#56b4e9", "4 2", "circle", "hatch"),
    Style("#e69f00", "1 2", "square", "dots"),
)


def style(index: int) -> Style:
    return STYLES[index % len(STYLES)]


def marker_path(shape: str, x: float, y: float, r: float = 3.5) -> str:
    """An SVG path of a small marker centred on (x, y)."""
    if shape == "square":
        return f"M{x - r:.1f} {y - r:.1f}h{2 * r:.1f}v{2 * r:.1f}h{-2 * r:.1f}z"
    if shape == "triangle":
        return f"M{x:.1f} {y - r - 0.5:.1f}L{x + r:.1f} {y + r:.1f}L{x - r:.1f} {y + r:.1f}z"
    if shape == "diamond":
        return f"M{x:.1f} {y - r - 0.5:.1f}L{x + r + 0.5:.1f} {y:.1f}L{x:.1f} {y + r + 0.5:.1f}L{x - r - 0.5:.1f} {y:.1f}z"
    return f"M{x - r:.1f} {y:.1f}a{r:.1f} {r:.1f} 0 1 0 {2 * r:.1f} 0a{r:.1f} {r:.1f} 0 1 0 {-2 * r:.1f} 0"


def nice_top(value: int) -> tuple[int, int]:
    """A round top for the y axis at or above `value`, and its step: at most 5 steps of 1, 2
    or 5 (or 2.5 from 25 up) times a power of ten."""
    if value <= 4:
        return 4, 1
    raw = value / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    factors = (1, 2, 2.5, 5, 10) if magnitude >= 10 else (1, 2, 5, 10)
    step = int(next(f * magnitude for f in factors if f * magnitude >= raw))
    return step * math.ceil(value / step), step


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Line:
    label: str
    style: Style
    points: str  # "x,y x,y …" for a polyline
    markers: str  # one path with every marker
    legend_marker: str  # the marker in the legend's 34x12 swatch


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class BarSeries:
    label: str
    style: Style
    pattern_id: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Drawing:
    """What a chart template draws: axes, gridlines and the series."""

    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...] = ()
    bars: tuple[BarSeries, ...] = ()


def _y(value: int, top: int) -> float:
    return TOP + PLOT_H - (value / top) * PLOT_H


def _y_ticks(top: int, step: int) -> tuple[Tick, ...]:
    return tuple(Tick(position=round(_y(v, top), 1), label=str(v)) for v in range(0, top + 1, step))


def _peak(chart: Chart) -> int:
    return max((max(s.values) for s in chart.series if s.values), default=0)


def line_chart(chart: Chart, *, marker_every: int = 7) -> Drawing:
    """Active keys per day: one line per product with a marker every `marker_every` days,
    the first of each month named on the x axis. The first series' markers fall on the last
    day and every `marker_every` days before; each next series' a day or two earlier, so
    that lines lying on each other still show every series' marker."""
    top, step = nice_top(_peak(chart))
    count = len(chart.points)
    span = max(count - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * PLOT_W / span

    lines = []
    for index, series in enumerate(chart.series):
        shape = style(index)
        coords = [(x(i), _y(v, top)) for i, v in enumerate(series.values)]
        shift = (index * 2) % marker_every
        marked = [c for i, c in enumerate(coords) if (count - 1 - i - shift) % marker_every == 0]
        lines.append(
            Line(
                label=series.label,
                style=shape,
                points=" ".join(f"{a:.1f},{b:.1f}" for a, b in coords),
                markers="".join(marker_path(shape.marker, a, b) for a, b in marked),
                legend_marker=marker_path(shape.marker, 17, 6),
            )
        )
    x_ticks = tuple(
        Tick(position=round(x(i), 1), label=day.strftime("%-d %b"))
        for i, day in enumerate(chart.points)
        if isinstance(day, date) and day.day == 1
    )
    return Drawing(
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        WIDTH - RIGHT,
        TOP + PLOT_H,
        _y_ticks(top, step),
        x_ticks,
        lines=tuple(lines),
    )


def bar_chart(chart: Chart, *, prefix: str) -> Drawing:
    """Billable keys per month: a group of bars per month, one bar per product, each product
    with its own fill pattern (ids start with `prefix`, unique on the page)."""
    top, step = nice_top(_peak(chart))
    groups = max(len(chart.points), 1)
    group_w = PLOT_W / groups
    per = max(len(chart.series), 1)
    bar_w = group_w * 0.8 / per
    series_out = []
    for index, series in enumerate(chart.series):
        bars = []
        for i, value in enumerate(series.values):
            month = chart.points[i]
            y = _y(value, top)
            bars.append(
                Bar(
                    x=round(LEFT + i * group_w + group_w * 0.1 + index * bar_w, 1),
                    y=round(y, 1),
                    width=round(bar_w, 1),
                    height=round(TOP + PLOT_H - y, 1),
                    title=f"{month.label if isinstance(month, Month) else month} · {series.label}: {value}",
                )
            )
        series_out.append(
            BarSeries(
                label=series.label, style=style(index), pattern_id=f"{prefix}-{index}", bars=tuple(bars)
            )
        )
    x_ticks = tuple(
        Tick(
            position=round(LEFT + (i + 0.5) * group_w, 1),
            label=month.first_day.strftime("%b %Y" if month.month == 1 or i == 0 else "%b"),
        )
        for i, month in enumerate(chart.points)
        if isinstance(month, Month)
    )
    return Drawing(
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        WIDTH - RIGHT,
        TOP + PLOT_H,
        _y_ticks(top, step),
        x_ticks,
        bars=tuple(series_out),
    )
