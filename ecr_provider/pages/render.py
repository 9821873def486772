"""A page model rendered through the Jinja2 templates beside this module: autoescaped, so no value
from a report reaches the page as markup."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.resources import files

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ecr_provider.core import units
from ecr_provider.core.html_report import (
    ATHENA_QUERY_PREFIX,
    LIFECYCLE_OVERLAP,
    RISK_SEVERITIES,
    RISKY_LIMIT,
    PageChoices,
    ReportPage,
    athena_link,
    days_ago,
    gigabytes,
    tag_list,
    usage_sources,
)
from ecr_provider.pages.charts import BarChart, LineChart, bar_chart, line_chart

CSS = Markup(files(__package__).joinpath("templates", "report.css").read_text(encoding="utf-8"))
"""The page's one style sheet, inline so the page is one file; the policy below names its hash."""
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
DOCUMENT_POLICY = f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; base-uri 'none'"
"""No script, no request to anywhere: the page is its markup, its inline SVG and this style sheet. The
document carries it in a ``<meta>``, so a file opened from disk or S3 is held to it too."""
CONTENT_SECURITY_POLICY = f"{DOCUMENT_POLICY}; frame-ancestors 'self'"
"""What a served page sends as a header: ``frame-ancestors`` works only there (the Airflow UI frames the
page from its own origin)."""


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Jinja2's per-user cache folder under the temporary folder, keyed by each template's source;
    None where no private folder can be made there, and the templates are compiled in each process."""
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


@cache
def environment() -> Environment:
    """The templates, their compiled code kept between processes: compiling them took longer than
    rendering a page."""
    templates = Environment(
        loader=PackageLoader(__package__, "templates"),
        bytecode_cache=_bytecode_cache(),
        autoescape=select_autoescape(("html", "svg"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    templates.filters.update(
        gigabytes=gigabytes, usd=units.usd, days_ago=days_ago, tag_list=tag_list, usage_sources=usage_sources
    )
    templates.globals.update(
        athena_link=athena_link,
        query_prefix=ATHENA_QUERY_PREFIX,
        lifecycle_overlap=LIFECYCLE_OVERLAP,
        risky_limit=RISKY_LIMIT,
        severities=" or ".join(RISK_SEVERITIES),
        css=CSS,
        content_security_policy=DOCUMENT_POLICY,
    )
    return templates


def render_report(page: ReportPage, choices: PageChoices | None = None) -> str:
    """The whole HTML document; deterministic for the same page. ``choices``: a served page's form to
    pick another date or registry; a file written beside the CSVs has none."""
    return environment().get_template("report.html").render(page=page, choices=choices, charts=_charts(page))


def _charts(page: ReportPage) -> dict[str, BarChart | LineChart]:
    points = page.trend_points()
    several = page.several_registries
    dates = [point.report_date for point in points]
    return {
        "costliest": bar_chart(
            [
                (
                    r.label(several),
                    float(r.monthly_cost_usd),
                    f"USD {r.monthly_cost_usd} · {r.pulled} · {r.policy}",
                )
                for r in page.costliest()
            ],
            "Monthly storage cost (USD)",
        ),
        "cost": line_chart(
            "Monthly storage cost (USD)",
            dates,
            [("monthly cost", [units.usd(p.monthly_cost) for p in points])],
        ),
        "storage": line_chart(
            "Storage (GiB)",
            dates,
            [
                ("billable", [gigabytes(p.billable_size_bytes) for p in points]),
                ("image sizes", [gigabytes(p.total_size_bytes) for p in points]),
            ],
        ),
    }
