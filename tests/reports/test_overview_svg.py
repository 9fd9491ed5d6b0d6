"""The overview's SVG geometry: axes that fit the numbers, points where the numbers are,
and series told apart by more than colour."""

from datetime import date, timedelta

import pytest

from keyledger.billing.months import Month
from keyledger.reports import overview_svg as svg
from keyledger.reports.overview_charts import Chart, Series


@pytest.mark.parametrize(
    ("peak", "top", "step"),
    [
        (0, 4, 1),
        (3, 4, 1),
        (5, 5, 1),
        (9, 10, 2),
        (10, 10, 2),
        (37, 40, 10),
        (1234, 1250, 250),
        (101, 125, 25),
    ],
)
def test_the_y_axis_ends_on_a_round_number_at_or_above_the_peak(peak, top, step):
    assert svg.nice_top(peak) == (top, step)


def test_the_first_series_styles_differ_in_dash_marker_and_pattern_not_only_colour():
    styles = svg.STYLES[:4]
    assert len({s.dash for s in styles}) == 4
    assert len({s.marker for s in styles}) == 4
    assert len({s.pattern for s in styles}) == 4


def test_a_line_chart_puts_each_day_where_its_number_is():
    days = tuple(date(2026, 8, 23) + timedelta(days=n) for n in range(90))
    chart = Chart(points=days, series=(Series(1, "A", tuple(range(90))), Series(2, "B", (5,) * 90)))
    drawing = svg.line_chart(chart)
    top = int(drawing.y_ticks[-1].label)
    assert top >= 89 and drawing.y_ticks[0].label == "0"
    first, *_, last = drawing.lines[0].points.split(" ")
    assert first == f"{svg.LEFT:.1f},{drawing.bottom:.1f}"  # 0 on the first day
    assert float(last.split(",")[0]) == pytest.approx(svg.WIDTH - svg.RIGHT)
    assert float(last.split(",")[1]) == pytest.approx(drawing.bottom - 89 / top * svg.PLOT_H, abs=0.1)
    # A marker every 7 days, counted back from today: 13 of them.
    assert drawing.lines[0].markers.count("M") == 13
    assert [t.label for t in drawing.x_ticks] == ["1 Sep", "1 Oct", "1 Nov"]


def test_a_bar_chart_groups_one_bar_per_product_inside_each_month():
    months = [Month(2025, 12)]
    while len(months) < 12:
        months.append(months[-1].next)
    chart = Chart(points=tuple(months), series=(Series(1, "A", (3,) * 12), Series(2, "B", (0,) * 11 + (6,))))
    drawing = svg.bar_chart(chart, prefix="p")
    a, b = drawing.bars
    assert (a.pattern_id, b.pattern_id) == ("p-0", "p-1")
    assert all(bar.x >= svg.LEFT and bar.x + bar.width <= svg.WIDTH - svg.RIGHT for bar in a.bars + b.bars)
    assert a.bars[0].x + a.bars[0].width <= b.bars[0].x  # side by side, not on top of each other
    assert b.bars[0].height == 0 and b.bars[-1].height == pytest.approx(2 * a.bars[-1].height, abs=0.2)
    assert b.bars[-1].title == "November 2026 · B: 6"
    assert [t.label for t in drawing.x_ticks][:2] == ["Dec 2025", "Jan 2026"]
