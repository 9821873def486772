"""One report date's page, as a model: the figures a FinOps or security reader looks at first.

Pure: rows and per-date totals in, the figures and tables of a page out; :mod:`ecr_provider.pages`
renders it to one self-contained HTML document, which the CLI, the DAG and the Airflow plugin write or
serve.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ecr_provider.core import units
from ecr_provider.core.run_manifest import date_record_key
from ecr_provider.core.thresholds import Breach, ThresholdPolicy, find_breaches

HTML_DIRECTORY = "_html"
HTML_NAME = "report.html"
COSTLIEST = 10
RISKY_LIMIT = 50
RECENT_DAYS = 30
"""An image pulled within this many days counts as in use (the findings report's default age bound)."""
RISK_SEVERITIES = ("CRITICAL", "HIGH")
ATHENA_QUERY_PREFIX = "ecr_report."
_GB_PLACES = Decimal("0.01")


def html_report_key(prefix: str, report_date: str) -> str:
    """``{prefix}/_html/report_date=YYYY-MM-DD/report.html``: beside the CSVs, outside the tables'
    locations so Athena never reads it; fixed, so the alert can name it before it is written."""
    return date_record_key(prefix, HTML_DIRECTORY, report_date, HTML_NAME)


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
            else f"last pull {days_ago(self.days_since_last_pull)}"
        )

    @property
    def policy(self) -> str:
        return "lifecycle policy" if self.has_lifecycle_policy else "no lifecycle policy"

    def label(self, several_registries: bool) -> str:
        return (
            f"{self.repository_name} ({self.account_id} {self.region})"
            if several_registries
            else self.repository_name
        )


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

    @property
    def console_region(self) -> str:
        return self.athena_region or (self.repositories[0]["region"] if self.repositories else "us-east-1")

    @property
    def several_registries(self) -> bool:
        """Whether repository names need their account and region beside them to be told apart."""
        return len({(row["accountId"], row["region"]) for row in self.repositories}) > 1

    @property
    def title(self) -> str:
        return f"ECR report {self.report_date} ({self.scope.label})"


@dataclass(frozen=True, slots=True)
class PageChoices:
    """What a served page offers to switch to: report dates (newest first) and the date's registries."""

    dates: Sequence[str]
    registries: Sequence[tuple[str, str]]


def gigabytes(size_bytes: int) -> str:
    return str((Decimal(size_bytes) / units.GB).quantize(_GB_PLACES))


def days_ago(days: str) -> str:
    """A ``daysSinceLastPull`` cell as a person reads it."""
    return {"": "never", "0": "today", "1": "1 day ago"}.get(days, f"{days} days ago")


def tag_list(image_tags: str) -> str:
    """The report's JSON list of tags as a person reads it."""
    tags = json.loads(image_tags) if image_tags else []
    return ", ".join(tags) if tags else "untagged"


def athena_link(region: str) -> str:
    """The Athena console's saved queries, where the named queries ``ecr_report.*`` are listed: a named
    query's id, which a direct link needs, is known only to the account that registered it."""
    return f"https://{region}.console.aws.amazon.com/athena/home?region={region}#/query-editor/saved-queries"
