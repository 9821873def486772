"""The page's charts: Vega-Lite specs (``charts/*.json``) filled with a page's numbers and rendered to
inline SVG by ``vl-convert`` (the Vega project's own renderer, no browser or network), so the page
opens anywhere offline. The SVG draws in ``currentColor`` and the page sets the colour per
``prefers-color-scheme``; every mark carries its number as text, and series differ by dash and shape as
well as colour, so nothing is told by colour alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import vl_convert
from markupsafe import Markup


@cache
def _spec(name: str) -> Any:
    return json.loads(files(__package__).joinpath("charts", name).read_text(encoding="utf-8"))


def _svg(spec: dict[str, Any]) -> Markup:
    """vl-convert escapes every text it draws, so its SVG goes into the page as it is."""
    return Markup(vl_convert.vegalite_to_svg({**spec, "config": _spec("theme.json")}))


def bar_chart(bars: Sequence[dict[str, Any]], title: str) -> Markup:
    """Horizontal bars (``name``, ``value``, ``label``), in the given order, each labelled beside it."""
    spec = json.loads(json.dumps(_spec("bar.vl.json")))
    spec["data"]["values"] = list(bars)
    spec["encoding"]["x"]["title"] = title
    spec["encoding"]["x"]["scale"]["domain"] = [0, max((bar["value"] for bar in bars), default=0) or 1]
    return _svg(spec)


def line_chart(points: Sequence[dict[str, Any]], title: str, series: Sequence[str]) -> Markup:
    """Lines over the report dates (points: ``date``, ``series``, ``value``, ``label``), every point
    labelled with its number and each line named at its last point (no legend to match colours against)."""
    spec = json.loads(json.dumps(_spec("line.vl.json")))
    spec["data"]["values"] = list(points)
    spec["encoding"]["y"]["title"] = title
    for name, style in zip(series, _spec("line-series.json"), strict=False):
        only = [{"filter": {"field": "series", "equal": name}}]
        spec["layer"] += [
            {
                "transform": only,
                "mark": {
                    "type": "line",
                    "color": style["color"],
                    "strokeDash": style["strokeDash"],
                    "point": {"shape": style["shape"], "filled": True, "color": style["color"], "size": 50},
                },
            },
            {
                "transform": only,
                "mark": {"type": "text", "dy": style["dy"]},
                "encoding": {"text": {"field": "label"}},
            },
        ]
    return _svg(spec)


def series_points(name: str, values: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """(date, number) in date order; the last point's label names the series too."""
    last = len(values) - 1
    return [
        {
            "date": date,
            "series": name,
            "value": float(number),
            "label": f"{name}: {number}" if index == last else number,
        }
        for index, (date, number) in enumerate(values)
    ]
