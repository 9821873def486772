"""One report date's page, as a model: the figures a FinOps or security reader looks at first.

Pure: rows and per-date totals in, the figures and tables of a page out; :mod:`ecr_provider.pages`
renders it to one self-contained HTML document, which the CLI, the DAG and the Airflow plugin write or
serve.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ecr_provider.core import units
from ecr_provider.core.blobs import BASIS_IMAGE_SIZE
from ecr_provider.core.page_images import ImageSections, image_sections, repository_key
from ecr_provider.core.thresholds import Breach, ThresholdPolicy, find_breaches

COSTLIEST = 10
RISKY_LIMIT = 50
RECOMMENDED = "recommended"
"""``lifecyclePolicySource`` of a repository without a policy: its savings are the recommended policy's."""
RISK_SEVERITIES = ("CRITICAL", "HIGH")
ATHENA_QUERY_PREFIX = "ecr_report."
_GB_PLACES = Decimal("0.01")


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


BASIS_LABELS = {
    "unique-blobs": "unique blobs (what ECR bills)",
    "unique-blobs-partial": "unique blobs where manifests could be read, image sizes elsewhere",
    "image-size": "image sizes (manifests not read: shared layers counted once per image)",
}
"""``costBasis`` values as a person reads them; a value not listed here is shown as it is."""
NO_MANIFESTS = (
    "Manifests were not read for {count} of {total} repositories, so their storage is the sum of image "
    "sizes, not the unique blobs ECR bills. Reading a manifest counts as a pull in ECR: exclude the "
    "reporting role from pull-time updates and set read_manifests (docs: Truthful storage cost, the "
    "pull-time exclusion) to report unique blobs."
)
LIFECYCLE_OVERLAP = (
    "These are not added up: images an existing policy expires are reclaimable now too (reason "
    "lifecycle-expiring), and the recommended policy would expire images of repositories without a "
    "policy that may also be reclaimable now as unused."
)


@dataclass(frozen=True, slots=True)
class Amount:
    """A sum over repositories_summary rows, as the CSV has it: the rows' rounded cells added up."""

    usd: str
    repositories: int
    size_bytes: int = 0
    images: int = 0


def _amount(
    rows: Iterable[Mapping[str, str]], usd: str, size: str | None = None, images: str | None = None
) -> Amount:
    """``repositories`` counts those with anything in the figure, an image or a cent: images whose
    blobs kept images share save nothing, yet their repositories are still where they go."""
    rows = list(rows)
    amounts = [Decimal(row.get(usd) or 0) for row in rows]
    counts = [int(row.get(images) or 0) if images else 0 for row in rows]
    return Amount(
        usd=units.usd(sum(amounts, Decimal(0))),
        repositories=sum(1 for amount, count in zip(amounts, counts, strict=True) if amount > 0 or count > 0),
        size_bytes=sum(int(row.get(size) or 0) for row in rows) if size else 0,
        images=sum(counts),
    )


@dataclass(frozen=True, slots=True)
class Savings:
    """One figure reclaimable now (each image once); lifecycle expiry split by where the policy is."""

    reclaimable: Amount
    existing_policies: Amount
    recommended_policy: Amount


@dataclass(frozen=True, slots=True)
class RollUp:
    """Repositories of one account or one region."""

    key: str
    repositories: int
    images: int
    billable_size_bytes: int
    archived_size_bytes: int
    monthly_cost_usd: str


@dataclass(frozen=True, slots=True)
class Price:
    region: str
    source: str
    per_gb_month: str
    archive_per_gb_month: str


@dataclass(frozen=True, slots=True)
class Change:
    """Since the previous report date, from the rows' change columns."""

    previous_dates: tuple[str, ...]
    size_change_bytes: int
    cost_change_usd: str
    movers: tuple[Mapping[str, str], ...]
    """Repositories whose cost changed most, either way."""


@dataclass(frozen=True)
class RunDecision:
    """What the date's run decided about thresholds, as it wrote it: its breaches (each with the
    threshold it was held to) and the alert marker, never re-derived from today's settings."""

    breaches: Sequence[Breach] | None
    """None: the run wrote no breaches record (nothing was over, or its threshold step did not run)."""
    alert: Mapping[str, Any] | None
    """The alert marker: when and about which repositories the SNS alert went out; None: none went out."""


@dataclass(frozen=True)
class ReportPage:
    """What one page shows; ``repositories`` are the date's repositories_summary rows in scope."""

    report_date: str
    repositories: Sequence[Mapping[str, str]]
    trend: Sequence[TrendPoint] = ()
    images: ImageSections | None = None
    """None: the images were not read, so their sections say so instead of showing none."""
    policy: ThresholdPolicy | None = None
    """The run's own thresholds (the DAG task has them); ``decision`` wins when given."""
    scope: Scope = ALL_REGISTRIES
    athena_region: str | None = None
    """Region of the Athena console the query links open; the first row's region by default."""
    notes: tuple[str, ...] = field(default=())
    decision: RunDecision | None = None
    registries: Sequence[Mapping[str, str]] = ()
    """The date's registries_summary rows in scope; empty when the date has none."""
    degraded: tuple[str, ...] | None = None
    """The registries (or their parts) the run could not read, each with what failed; None: no run
    manifest says."""

    @property
    def image_size_bytes(self) -> int:
        return sum(int(row["totalSizeBytes"]) for row in self.repositories)

    @property
    def unique_blob_bytes(self) -> int:
        return sum(int(row["billableSizeBytes"]) for row in self.repositories)

    @property
    def monthly_cost(self) -> Decimal:
        """The rows' ``monthlyStorageCost(USD)`` cells added up: the one total every place shows."""
        return sum((Decimal(row["monthlyStorageCost(USD)"]) for row in self.repositories), Decimal(0))

    @property
    def monthly_cost_usd(self) -> str:
        return units.usd(self.monthly_cost)

    @property
    def cost_basis(self) -> str:
        """What the storage figures are: one basis, or how many repositories are on each."""
        bases = Counter(row.get("costBasis", "") for row in self.repositories)
        if len(bases) == 1:
            (basis,) = bases
            return BASIS_LABELS.get(basis, basis)
        return "; ".join(
            f"{count} repositories on {BASIS_LABELS.get(basis, basis)}"
            for basis, count in sorted(bases.items())
        )

    @property
    def manifests_unread(self) -> str | None:
        """The note when some repositories' storage is image sizes because their manifests were not read."""
        count = sum(1 for row in self.repositories if row.get("costBasis") == BASIS_IMAGE_SIZE)
        return NO_MANIFESTS.format(count=count, total=len(self.repositories)) if count else None

    def trend_points(self) -> list[TrendPoint]:
        """The trend by date; the page's own date is its rows' figures, so it matches the headline."""
        points = {point.report_date: point for point in self.trend}
        if self.repositories:
            points[self.report_date] = TrendPoint(
                self.report_date, self.image_size_bytes, self.unique_blob_bytes, self.monthly_cost
            )
        return [points[date] for date in sorted(points)]

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

    def savings(self) -> Savings:
        rows = self.repositories
        return Savings(
            reclaimable=_amount(
                rows, "reclaimableMonthlySavings(USD)", "reclaimableBytes", "reclaimableImages"
            ),
            existing_policies=_amount(
                (row for row in rows if row.get("lifecyclePolicySource") != RECOMMENDED),
                "lifecycleMonthlySavings(USD)",
                "lifecycleExpiringBytes",
                "lifecycleExpiringImages",
            ),
            recommended_policy=_amount(
                (row for row in rows if row.get("lifecyclePolicySource") == RECOMMENDED),
                "lifecycleMonthlySavings(USD)",
                "lifecycleExpiringBytes",
                "lifecycleExpiringImages",
            ),
        )

    def breaches(self) -> list[Breach] | None:
        if self.decision is not None:
            return None if self.decision.breaches is None else list(self.decision.breaches)
        return None if self.policy is None else find_breaches(self.repositories, self.policy)

    def prices(self) -> list[Price]:
        return sorted(
            {
                Price(
                    row["region"],
                    row.get("priceSource", ""),
                    row.get("pricePerGbMonth(USD)", ""),
                    row.get("archivePricePerGbMonth(USD)", ""),
                )
                for row in self.repositories
            },
            key=lambda price: (price.region, price.source, price.per_gb_month),
        )

    @property
    def as_of(self) -> str:
        return ", ".join(sorted({row.get("asOf", "") for row in self.repositories} - {""})) or "unknown"

    @property
    def accounts(self) -> list[str]:
        return sorted({row["accountId"] for row in self.repositories})

    @property
    def regions(self) -> list[str]:
        return sorted({row["region"] for row in self.repositories})

    def roll_up(self, column: str) -> list[RollUp]:
        """Per ``accountId`` or per ``region``, costliest first."""
        groups: dict[str, list[Mapping[str, str]]] = {}
        for row in self.repositories:
            groups.setdefault(row[column], []).append(row)
        totals = [
            RollUp(
                key,
                len(rows),
                sum(int(row["totalImages"]) for row in rows),
                sum(int(row["billableSizeBytes"]) for row in rows),
                sum(int(row.get("archivedSizeBytes") or 0) for row in rows),
                _amount(rows, "monthlyStorageCost(USD)").usd,
            )
            for key, rows in groups.items()
        ]
        return sorted(totals, key=lambda total: (-Decimal(total.monthly_cost_usd), total.key))

    @property
    def archived(self) -> Amount:
        return _amount(self.repositories, "archivedMonthlyCost(USD)", "archivedSizeBytes", "archivedImages")

    @property
    def untagged_images(self) -> int:
        return sum(int(row.get("untaggedImages") or 0) for row in self.repositories)

    def without_lifecycle_policy(self) -> list[Mapping[str, str]]:
        rows = [row for row in self.repositories if not row["lifecyclePolicyText"]]
        return sorted(rows, key=lambda row: (-Decimal(row["monthlyStorageCost(USD)"]), row["repositoryName"]))

    def change(self, movers: int = COSTLIEST) -> Change:
        changed = [row for row in self.repositories if row.get("previousReportDate")]
        return Change(
            previous_dates=tuple(sorted({row["previousReportDate"] for row in changed})),
            size_change_bytes=sum(int(row["sizeChangeBytes"] or 0) for row in changed),
            cost_change_usd=_amount(changed, "costChange(USD)").usd,
            movers=tuple(
                sorted(
                    (row for row in changed if Decimal(row["costChange(USD)"] or 0)),
                    key=lambda row: (-abs(Decimal(row["costChange(USD)"])), row["repositoryName"]),
                )[:movers]
            ),
        )

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


def page_images(
    image_rows: Iterable[Mapping[str, str]], repository_rows: Iterable[Mapping[str, str]]
) -> ImageSections:
    """The image sections of a page, each image held to its repository's ``reclaimAfterDays``."""
    limits = {
        repository_key(row): int(row["reclaimAfterDays"])
        for row in repository_rows
        if row.get("reclaimAfterDays")
    }
    return image_sections(image_rows, limits)


def degraded_registries(manifest: Mapping[str, Any], scope: Scope = ALL_REGISTRIES) -> tuple[str, ...]:
    """What the run could not read, per registry in scope, from its run manifest's targets."""
    found = []
    for target in manifest.get("targets", ()):
        if not scope.covers(target.get("account_id"), target.get("region")):
            continue
        label = f"{target.get('account_id') or 'the connection account'} {target.get('region')}"
        if target.get("error"):
            found.append(f"{label}: {target['error']}")
        if target.get("findings_error"):
            found.append(f"{label}: image_findings: {target['findings_error']}")
        for skipped in target.get("skipped", ()):
            found.append(f"{label}: repository {skipped.get('name')}: {skipped.get('reason')}")
    return tuple(found)


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


def usage_sources(text: str | None) -> str:
    """A registry's JSON list of usage sources as a person reads it; a report written before the
    column existed says nothing of them."""
    if text is None:
        return "not recorded"
    sources = json.loads(text) if text else []
    return ", ".join(sources) if sources else "none (use unknown)"


def athena_link(region: str) -> str:
    """The Athena console's saved queries, where the named queries ``ecr_report.*`` are listed: a named
    query's id, which a direct link needs, is known only to the account that registered it."""
    return f"https://{region}.console.aws.amazon.com/athena/home?region={region}#/query-editor/saved-queries"
