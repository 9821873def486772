"""One report date as a self-contained HTML page: the figures a FinOps or security reader looks at first.

Pure: rows and per-date totals in, one HTML string out; the CLI, the DAG and the Airflow plugin write
or serve it. Charts are Vega-Lite specs rendered to inline SVG by ``vl-convert`` (the Vega project's
own renderer, no browser or network), so the file opens anywhere offline. The SVG draws in
``currentColor`` and the page sets the colour per ``prefers-color-scheme``; every mark carries its
number as text, and series differ by dash and shape as well as colour, so nothing is told by colour alone.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import vl_convert

from ecr_provider.core import units
from ecr_provider.core.thresholds import Breach, ThresholdPolicy, find_breaches

COSTLIEST = 10
RISKY_LIMIT = 50
RECENT_DAYS = 30
"""An image pulled within this many days counts as in use (the findings report's default age bound)."""
RISK_SEVERITIES = ("CRITICAL", "HIGH")
ATHENA_QUERY_PREFIX = "ecr_report."
_GB_PLACES = Decimal("0.01")
_ACCENT = "#4c78a8"
"""Vega's default blue: readable on a white and on a near-black background."""
_SECOND = "#e45756"
_THEME: dict[str, Any] = {
    "background": "transparent",
    "font": "sans-serif",
    "view": {"stroke": None},
    "axis": {
        "labelColor": "currentColor",
        "titleColor": "currentColor",
        "domainColor": "currentColor",
        "tickColor": "currentColor",
        "gridColor": "currentColor",
        "gridOpacity": 0.15,
        "labelFontSize": 11,
        "titleFontSize": 11,
        "labelLimit": 260,
    },
    "legend": {"labelColor": "currentColor", "titleColor": "currentColor"},
    "text": {"fill": "currentColor", "fontSize": 11},
    "title": {"color": "currentColor"},
}


@dataclass(frozen=True, slots=True)
class Scope:
    """The registries a page covers: all, or one account and/or region."""

    account_id: str | None = None
    region: str | None = None

    def covers(self, account_id: str | None, region: str | None) -> bool:
        return (self.account_id is None or self.account_id == account_id) and (
            self.region is None or self.region == region
        )

    @property
    def label(self) -> str:
        if self.account_id is None and self.region is None:
            return "all registries"
        return " ".join(part for part in (self.account_id, self.region) if part)


ALL_REGISTRIES = Scope()


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """A date's storage in scope, as its run manifest records it."""

    report_date: str
    total_size_bytes: int
    billable_size_bytes: int
    monthly_cost: Decimal


def trend_point(manifest: Mapping[str, Any], scope: Scope = ALL_REGISTRIES) -> TrendPoint | None:
    """The date's point for ``scope`` from its run manifest's ``storage``; None for a manifest written
    before it had one, or with no loaded registry in scope."""
    storage = manifest.get("storage")
    if not isinstance(storage, Mapping):
        return None
    parts = (
        [storage]
        if scope == ALL_REGISTRIES
        else [r for r in storage.get("registries", ()) if scope.covers(r.get("account_id"), r.get("region"))]
    )
    if not parts:
        return None
    return TrendPoint(
        report_date=str(manifest["report_date"]),
        total_size_bytes=sum(int(part["total_size_bytes"]) for part in parts),
        billable_size_bytes=sum(int(part["billable_size_bytes"]) for part in parts),
        monthly_cost=sum((Decimal(str(part["monthly_cost_usd"])) for part in parts), Decimal(0)),
    )


@dataclass(frozen=True, slots=True)
class RiskyImage:
    repository_name: str
    account_id: str
    region: str
    image_digest: str
    image_tags: str
    critical: int
    high: int
    days_since_last_pull: int


def risky_images(image_rows: Iterable[Mapping[str, str]], recent_days: int = RECENT_DAYS) -> list[RiskyImage]:
    """Images with CRITICAL or HIGH findings pulled within ``recent_days``, worst first; rows are
    images_summary rows, streamed (only the risky ones are kept)."""
    found = []
    for row in image_rows:
        critical = int(row.get("findingsCritical") or 0)
        high = int(row.get("findingsHigh") or 0)
        days = row.get("daysSinceLastPull", "")
        if (critical or high) and days != "" and int(days) <= recent_days:
            found.append(
                RiskyImage(
                    repository_name=row["repositoryName"],
                    account_id=row["accountId"],
                    region=row["region"],
                    image_digest=row["imageDigest"],
                    image_tags=row["imageTags"],
                    critical=critical,
                    high=high,
                    days_since_last_pull=int(days),
                )
            )
    return sorted(found, key=lambda i: (-i.critical, -i.high, i.days_since_last_pull, i.repository_name))


@dataclass(frozen=True, slots=True)
class CostlyRepository:
    repository_name: str
    account_id: str
    region: str
    monthly_cost_usd: str
    billable_size_bytes: int
    days_since_last_pull: str
    """Empty when never pulled."""
    has_lifecycle_policy: bool

    @property
    def pulled(self) -> str:
        return (
            "never pulled"
            if self.days_since_last_pull == ""
            else f"last pull {_days(self.days_since_last_pull)}"
        )

    @property
    def policy(self) -> str:
        return "lifecycle policy" if self.has_lifecycle_policy else "no lifecycle policy"


@dataclass(frozen=True, slots=True)
class Saving:
    label: str
    monthly_usd: str
    repositories: int
    query: str


SAVINGS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("lifecycle policies (images they expire)", "lifecycleMonthlySavings(USD)", "potential_savings"),
    (
        "reclaimable images (nothing runs or needs them)",
        "reclaimableMonthlySavings(USD)",
        "reclaimable_storage",
    ),
)
"""(label, repositories_summary column, named query): a new kind of saving is one more row once its
column exists; a column the rows do not have yet is left out."""


@dataclass(frozen=True)
class ReportPage:
    """What one page shows; ``repositories`` are the date's repositories_summary rows in scope."""

    report_date: str
    repositories: Sequence[Mapping[str, str]]
    trend: Sequence[TrendPoint] = ()
    risky: Sequence[RiskyImage] | None = None
    """None: the images were not read, so the table says so instead of showing none."""
    policy: ThresholdPolicy | None = None
    scope: Scope = ALL_REGISTRIES
    athena_region: str | None = None
    """Region of the Athena console the query links open; the first row's region by default."""
    notes: tuple[str, ...] = field(default=())

    @property
    def image_size_bytes(self) -> int:
        return sum(int(row["totalSizeBytes"]) for row in self.repositories)

    @property
    def unique_blob_bytes(self) -> int:
        return sum(int(row["billableSizeBytes"]) for row in self.repositories)

    @property
    def monthly_cost_usd(self) -> str:
        return units.usd(
            sum((Decimal(row["monthlyStorageCost(USD)"]) for row in self.repositories), Decimal(0))
        )

    def costliest(self, limit: int = COSTLIEST) -> list[CostlyRepository]:
        rows = sorted(
            self.repositories,
            key=lambda row: (-Decimal(row["monthlyStorageCost(USD)"]), row["repositoryName"], row["region"]),
        )
        return [
            CostlyRepository(
                repository_name=row["repositoryName"],
                account_id=row["accountId"],
                region=row["region"],
                monthly_cost_usd=row["monthlyStorageCost(USD)"],
                billable_size_bytes=int(row["billableSizeBytes"]),
                days_since_last_pull=row["daysSinceLastPull"],
                has_lifecycle_policy=bool(row["lifecyclePolicyText"]),
            )
            for row in rows[:limit]
        ]

    def savings(self) -> list[Saving]:
        found = []
        for label, column, query in SAVINGS_COLUMNS:
            if self.repositories and column not in self.repositories[0]:
                continue
            amounts = [Decimal(row[column]) for row in self.repositories if row.get(column)]
            found.append(
                Saving(label, units.usd(sum(amounts, Decimal(0))), sum(1 for a in amounts if a > 0), query)
            )
        return found

    def breaches(self) -> list[Breach] | None:
        return None if self.policy is None else find_breaches(self.repositories, self.policy)


@dataclass(frozen=True, slots=True)
class PageChoices:
    """What a served page offers to switch to: report dates (newest first) and the date's registries."""

    dates: Sequence[str]
    registries: Sequence[tuple[str, str]]


def _choices_form(choices: PageChoices, page: ReportPage) -> str:
    """A plain GET form (``date``, ``registry``): works without script, in an iframe or not."""
    dates = "".join(
        f"<option value='{date}'{' selected' if date == page.report_date else ''}>{date}</option>"
        for date in choices.dates
    )
    current = f"{page.scope.account_id} {page.scope.region}"
    labels = [html.escape(f"{account} {region}") for account, region in choices.registries]
    registries = "<option value=''>all registries</option>" + "".join(
        f"<option value='{label}'{' selected' if label == html.escape(current) else ''}>{label}</option>"
        for label in labels
    )
    return (
        "<form class='choices' method='get'><label>report date <select name='date'>"
        f"{dates}</select></label> <label>registry <select name='registry'>{registries}</select></label> "
        "<button type='submit'>Show</button></form>"
    )


def gigabytes(size_bytes: int) -> str:
    return str((Decimal(size_bytes) / units.GB).quantize(_GB_PLACES))


def render_report(page: ReportPage, choices: PageChoices | None = None) -> str:
    """The whole HTML document; deterministic for the same page. ``choices``: a served page's form to
    pick another date or registry; a file written beside the CSVs has none."""
    region = page.athena_region or (page.repositories[0]["region"] if page.repositories else "us-east-1")
    sections = (
        _trend_section(page, region),
        _costliest_section(page, region),
        _savings_section(page, region),
        _breaches_section(page, region),
        _risky_section(page, region),
    )
    title = f"ECR report {page.report_date} ({page.scope.label})"
    notes = "".join(f"<p class='note'>{html.escape(note)}</p>" for note in page.notes)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='color-scheme' content='light dark'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{'' if choices is None else _choices_form(choices, page)}{notes}"
        f"<dl class='headline'>{_headline(page)}</dl>{''.join(sections)}</body></html>\n"
    )


def _headline(page: ReportPage) -> str:
    items = (
        ("repositories", "repositories", str(len(page.repositories))),
        ("monthly-cost", "monthly storage cost (USD)", page.monthly_cost_usd),
        ("unique-blob-gb", "unique blobs, what ECR bills (GB)", gigabytes(page.unique_blob_bytes)),
        ("image-size-gb", "sum of image sizes (GB)", gigabytes(page.image_size_bytes)),
    )
    return "".join(
        f"<div><dt>{html.escape(label)}</dt><dd data-figure='{key}'>{value}</dd></div>"
        for key, label, value in items
    )


def _trend_section(page: ReportPage, region: str) -> str:
    points = sorted(page.trend, key=lambda point: point.report_date)
    if not points:
        body = "<p class='empty'>No run manifest with totals yet: the trend starts with the next run.</p>"
    else:
        cost = _series_points("monthly cost", [(p.report_date, units.usd(p.monthly_cost)) for p in points])
        storage = [
            *_series_points(
                "unique blobs", [(p.report_date, gigabytes(p.billable_size_bytes)) for p in points]
            ),
            *_series_points("image sizes", [(p.report_date, gigabytes(p.total_size_bytes)) for p in points]),
        ]
        rows = "".join(
            f"<tr><td>{p.report_date}</td><td class='num'>{units.usd(p.monthly_cost)}</td>"
            f"<td class='num'>{gigabytes(p.billable_size_bytes)}</td>"
            f"<td class='num'>{gigabytes(p.total_size_bytes)}</td></tr>"
            for p in points
        )
        body = (
            _chart(_line_spec(cost, "Monthly storage cost (USD)", ["monthly cost"]))
            + _chart(_line_spec(storage, "Storage (GB)", ["unique blobs", "image sizes"]))
            + _table(("report date", "monthly cost (USD)", "unique blobs (GB)", "image sizes (GB)"), rows)
        )
    return _section("trend", "Storage cost and size over the report dates", body, "storage_trend", region)


def _costliest_section(page: ReportPage, region: str) -> str:
    costliest = page.costliest()
    several = len({(row["accountId"], row["region"]) for row in page.repositories}) > 1
    bars = [
        {
            "name": _repository_label(r.repository_name, r.account_id, r.region, several),
            "value": float(r.monthly_cost_usd),
            "label": f"USD {r.monthly_cost_usd} · {r.pulled} · {r.policy}",
        }
        for r in costliest
    ]
    rows = "".join(
        f"<tr><td>{html.escape(_repository_label(r.repository_name, r.account_id, r.region, several))}</td>"
        f"<td class='num'>{r.monthly_cost_usd}</td><td class='num'>{gigabytes(r.billable_size_bytes)}</td>"
        f"<td>{html.escape(r.pulled)}</td><td>{html.escape(r.policy)}</td></tr>"
        for r in costliest
    )
    body = (
        _chart(_bar_spec(bars, "Monthly storage cost (USD)"))
        + _table(("repository", "monthly cost (USD)", "billable (GB)", "last pull", "lifecycle"), rows)
        if costliest
        else _empty("No repositories.")
    )
    return _section(
        "costliest", f"The {len(costliest)} costliest repositories", body, "costliest_repositories", region
    )


def _savings_section(page: ReportPage, region: str) -> str:
    savings = page.savings()
    bars = [
        {"name": s.label, "value": float(s.monthly_usd), "label": f"USD {s.monthly_usd} a month"}
        for s in savings
    ]
    rows = "".join(
        f"<tr><td>{html.escape(s.label)}</td><td class='num'>{s.monthly_usd}</td>"
        f"<td class='num'>{s.repositories}</td></tr>"
        for s in savings
    )
    body = (
        _chart(_bar_spec(bars, "Monthly savings (USD)"))
        + _table(("saving", "monthly (USD)", "repositories"), rows)
        if savings
        else _empty("No savings column in these reports.")
    )
    return _section("savings", "Savings available", body, "potential_savings", region)


def _breaches_section(page: ReportPage, region: str) -> str:
    breaches = page.breaches()
    if breaches is None:
        body = _empty("No threshold was given for this report.")
    elif not breaches:
        body = _empty("No repository is over its threshold.")
    else:
        rows = "".join(
            f"<tr><td>{html.escape(b.repository_name)}</td><td>{b.account_id} {b.region}</td>"
            f"<td class='num'>{gigabytes(b.billable_size_bytes)}</td><td class='num'>{b.threshold_gb}</td>"
            f"<td class='num'>{b.monthly_cost_usd}</td><td>{_days(b.days_since_last_pull)}</td></tr>"
            for b in breaches
        )
        body = _table(
            ("repository", "registry", "billable (GB)", "threshold (GB)", "monthly cost (USD)", "last pull"),
            rows,
        )
    count = "" if not breaches else f" ({len(breaches)})"
    return _section("breaches", f"Repositories over their threshold{count}", body, None, region)


def _risky_section(page: ReportPage, region: str) -> str:
    if page.risky is None:
        body = _empty("The images were not read for this page.")
    elif not page.risky:
        body = _empty(f"No image pulled within {RECENT_DAYS} days has a CRITICAL or HIGH finding.")
    else:
        rows = "".join(
            f"<tr><td>{html.escape(i.repository_name)}</td><td>{i.account_id} {i.region}</td>"
            f"<td>{html.escape(_tags(i.image_tags))}</td>"
            f"<td><code>{html.escape(i.image_digest[:19])}</code></td><td class='num'>{i.critical}</td>"
            f"<td class='num'>{i.high}</td><td>{_days(str(i.days_since_last_pull))}</td></tr>"
            for i in page.risky[:RISKY_LIMIT]
        )
        shown = (
            ""
            if len(page.risky) <= RISKY_LIMIT
            else f"<p class='note'>The first {RISKY_LIMIT} of {len(page.risky)}.</p>"
        )
        body = (
            _table(("repository", "registry", "tags", "digest", "critical", "high", "last pull"), rows)
            + shown
        )
    count = "" if not page.risky else f" ({len(page.risky)})"
    severities = " or ".join(RISK_SEVERITIES)
    title = f"Images in use (pulled within {RECENT_DAYS} days) with {severities} findings{count}"
    return _section("risky", title, body, "critical_high_findings", region)


def athena_link(region: str) -> str:
    """The Athena console's saved queries, where the named queries ``ecr_report.*`` are listed: a named
    query's id, which a direct link needs, is known only to the account that registered it."""
    return f"https://{region}.console.aws.amazon.com/athena/home?region={region}#/query-editor/saved-queries"


def _query_link(query: str, region: str) -> str:
    name = f"{ATHENA_QUERY_PREFIX}{query}"
    return f"<a href='{html.escape(athena_link(region))}' data-query='{name}'>{name}</a>"


def _section(key: str, title: str, body: str, query: str | None, region: str) -> str:
    source = (
        f"In Athena: named query {_query_link(query, region)}"
        if query
        else "No named query: thresholds are the DAG's settings; the SNS alert lists the same repositories."
    )
    return f"<section id='{key}'><h2>{html.escape(title)}</h2>{body}<p class='query'>{source}</p></section>"


def _table(headers: Sequence[str], rows: str) -> str:
    head = "".join(f"<th scope='col'>{html.escape(header)}</th>" for header in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _empty(text: str) -> str:
    return f"<p class='empty'>{html.escape(text)}</p>"


def _tags(image_tags: str) -> str:
    """The report's JSON list of tags as a person reads it."""
    tags = json.loads(image_tags) if image_tags else []
    return ", ".join(tags) if tags else "untagged"


def _days(days: str) -> str:
    return {"": "never", "0": "today", "1": "1 day ago"}.get(days, f"{days} days ago")


def _repository_label(name: str, account_id: str, region: str, several: bool) -> str:
    return f"{name} ({account_id} {region})" if several else name


def _chart(spec: dict[str, Any]) -> str:
    svg = str(vl_convert.vegalite_to_svg({**spec, "config": _THEME}))
    return f"<figure class='chart'>{svg}</figure>"


def _bar_spec(bars: list[dict[str, Any]], title: str) -> dict[str, Any]:
    """Horizontal bars, largest first, each with its label (number and facts) beside it."""
    largest = max((bar["value"] for bar in bars), default=0) or 1
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 300,
        "height": {"step": 24},
        "data": {"values": bars},
        "encoding": {
            "y": {"field": "name", "type": "nominal", "sort": None, "title": None},
            "x": {
                "field": "value",
                "type": "quantitative",
                "title": title,
                "scale": {"domain": [0, largest]},
            },
        },
        "layer": [
            {"mark": {"type": "bar", "color": _ACCENT}},
            {
                "mark": {"type": "text", "align": "left", "dx": 4, "clip": False},
                "encoding": {"text": {"field": "label"}},
            },
        ],
        "padding": {"right": 260},
    }


_SERIES_STYLES = (
    {"color": _ACCENT, "strokeDash": [1, 0], "shape": "circle", "dy": -10},
    {"color": _SECOND, "strokeDash": [6, 3], "shape": "square", "dy": 16},
)
"""Per series: a dash, a point shape and a label side of its own, so series differ without colour."""


def _line_spec(points: list[dict[str, Any]], title: str, series: Sequence[str]) -> dict[str, Any]:
    """Lines over the report dates, every point labelled with its number and each line named at its
    last point (no legend to match colours against)."""
    layers: list[dict[str, Any]] = []
    for name, style in zip(series, _SERIES_STYLES, strict=False):
        only = [{"filter": {"field": "series", "equal": name}}]
        layers += [
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
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 560,
        "height": 220,
        "padding": {"left": 5, "top": 10, "right": 90, "bottom": 5},
        "data": {"values": points},
        "encoding": {
            "x": {"field": "date", "type": "ordinal", "title": "report date", "axis": {"labelAngle": -30}},
            "y": {"field": "value", "type": "quantitative", "title": title},
        },
        "layer": layers,
    }


def _series_points(name: str, values: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
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


_CSS = """
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --rule: #d0d7de; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --rule: #3d444d; }
}
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 1.5rem auto;
  max-width: 72rem; padding: 0 1rem; }
a { color: inherit; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.headline { display: flex; flex-wrap: wrap; gap: 1rem 2.5rem; }
.headline dt { color: var(--muted); } .headline dd { margin: 0; font-size: 1.4rem; font-weight: 600; }
figure.chart { margin: 0.5rem 0; overflow-x: auto; color: var(--fg); }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border-bottom: 1px solid var(--rule); padding: 0.2rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty, .note, .query { color: var(--muted); }
.note { border-left: 3px solid var(--rule); padding-left: 0.5rem; }
form.choices { margin: 0.5rem 0 1rem; }
"""
