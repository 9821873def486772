"""The page's charts as geometry: bars and lines laid out in SVG user units, which the templates
``charts/bar.svg`` and ``charts/line.svg`` draw as inline SVG (no script, no renderer to run, nothing
loaded), so the page opens anywhere offline. Marks draw in ``currentColor`` and the page sets the colour
per ``prefers-color-scheme``; every mark carries its number as text, and series differ by dash and shape
as well as colour, so nothing is told by colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

NAME_WIDTH = 300
"""Room for a bar's name left of it; longer names are cut with an ellipsis (the full name in a tooltip)."""
NAME_CHARACTERS = 50
BAR_WIDTH = 300
"""The largest bar's length; its label is written after it."""
LABEL_WIDTH = 300
BAR_STEP = 24
PLOT_WIDTH = 560
PLOT_HEIGHT = 220
MARGIN_LEFT = 64
MARGIN_RIGHT = 150
"""Room for the last point's label, which names its series."""
MARGIN_TOP = 24
MARGIN_BOTTOM = 76
AXIS_HEIGHT = 44
TICKS = 5


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


def nice_ticks(largest: float, count: int = TICKS) -> list[float]:
    """0 up to a round number at or above ``largest``, in steps of 1, 2 or 5 times a power of ten."""
    if largest <= 0:
        return [0.0, 1.0]
    rough = largest / count
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return [step * index for index in range(math.ceil(largest / step - 1e-9) + 1)]


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class Bar:
    name: str
    """The full name (the tooltip); ``short`` is what fits beside the bar."""
    short: str
    y: float
    length: float
    label: str


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    width: int
    height: int
    plot_height: int
    bar_height: int = BAR_STEP - 6
    name_width: int = NAME_WIDTH
    bar_x: int = NAME_WIDTH + 8


def bar_chart(bars: Sequence[tuple[str, float, str]], title: str) -> BarChart:
    """Horizontal bars (name, value, label), in the given order, each labelled beside it."""
    scale = nice_ticks(max((value for _, value, _ in bars), default=0))
    top = scale[-1]
    plot_height = BAR_STEP * len(bars)
    return BarChart(
        title=title,
        bars=tuple(
            Bar(
                name=name,
                short=name if len(name) <= NAME_CHARACTERS else name[: NAME_CHARACTERS - 1] + "…",
                y=index * BAR_STEP + 3,
                length=round(BAR_WIDTH * value / top, 1),
                label=label,
            )
            for index, (name, value, label) in enumerate(bars)
        ),
        ticks=tuple(Tick(round(BAR_WIDTH * value / top, 1), _number(value)) for value in scale),
        width=NAME_WIDTH + 8 + BAR_WIDTH + LABEL_WIDTH,
        height=plot_height + AXIS_HEIGHT,
        plot_height=plot_height,
    )


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    style: int
    """0, 1, ...: the series' colour, dash, point shape and label side (``report.css``, ``line.svg``)."""
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(self.points))


@dataclass(frozen=True, slots=True)
class LineChart:
    title: str
    series: tuple[Series, ...]
    dates: tuple[Tick, ...]
    ticks: tuple[Tick, ...]
    """Value ticks, ``position`` measured down from the plot's top."""
    width: int = MARGIN_LEFT + PLOT_WIDTH + MARGIN_RIGHT
    height: int = MARGIN_TOP + PLOT_HEIGHT + MARGIN_BOTTOM
    left: int = MARGIN_LEFT
    top: int = MARGIN_TOP
    plot_width: int = PLOT_WIDTH
    plot_height: int = PLOT_HEIGHT


def line_chart(title: str, dates: Sequence[str], series: Sequence[tuple[str, Sequence[str]]]) -> LineChart:
    """Lines over the report dates (``series``: name and one number per date, as text), every point
    labelled with its number and each line named at its last point (no legend to match colours against)."""
    scale = nice_ticks(max((float(number) for _, numbers in series for number in numbers), default=0))
    top = scale[-1]
    step = PLOT_WIDTH / len(dates) if dates else PLOT_WIDTH
    x = [round(step * (index + 0.5), 1) for index in range(len(dates))]

    def y(value: float) -> float:
        return round(PLOT_HEIGHT * (1 - value / top), 1)

    return LineChart(
        title=title,
        series=tuple(
            Series(
                name,
                style,
                tuple(
                    Point(
                        x[index],
                        y(float(number)),
                        f"{name}: {number}" if index == len(numbers) - 1 else number,
                    )
                    for index, number in enumerate(numbers)
                ),
            )
            for style, (name, numbers) in enumerate(series)
        ),
        dates=tuple(Tick(position, date) for position, date in zip(x, dates, strict=True)),
        ticks=tuple(Tick(y(value), _number(value)) for value in scale),
    )
