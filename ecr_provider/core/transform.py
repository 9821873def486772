"""Records -> report rows. Every value is decided here; writers only place the strings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ecr_provider.core import units
from ecr_provider.core.blobs import BASIS_IMAGE_SIZE, index_children
from ecr_provider.core.cleanup import CleanupRules, Verdict, cleanup_verdicts
from ecr_provider.core.columns import IMAGE_COLUMNS, REPOSITORY_COLUMNS, Column
from ecr_provider.core.lifecycle import RECOMMENDED_POLICY_TEXT, evaluate, parse_policy
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.records import SEVERITIES, Image, RepositorySnapshot
from ecr_provider.core.usage import UNKNOWN_USAGE, ImageUse, RegistryUsage, repository_use
from ecr_provider.core.visibility import ALL_VISIBLE, RegistryVisibility


@dataclass(frozen=True, slots=True)
class PreviousReport:
    """The same registry's last earlier report: billable bytes and monthly cost per repository."""

    report_date: str
    repositories: Mapping[str, tuple[int, Decimal]]


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What a registry's rows share: the as-of time (never the wall clock), the region's storage
    prices and the previous report the trend columns compare with (None: no earlier report)."""

    as_of: datetime
    prices: StoragePrices
    previous: PreviousReport | None = None
    usage: RegistryUsage = UNKNOWN_USAGE
    """Which images run in the registry; unknown when it was not read, so nothing is reclaimable."""
    visibility: RegistryVisibility = ALL_VISIBLE
    """Where its images may run unseen (other accounts, EKS pods): then no image is ``unused``."""
    usage_sources: tuple[str, ...] = ()
    """Where the registry's usage was read (``usageSources``): ECS, Lambda, Inspector's in-use counts."""
    cleanup: CleanupRules = field(default_factory=CleanupRules)
    account_id: str = ""
    region: str = ""
    blob_mounting: str = ""
    """The registry's ``BLOB_MOUNTING`` setting: ``ENABLED``, ``DISABLED``, or empty when unread."""
    as_of_text: str = field(init=False, repr=False, compare=False)
    """``as_of`` as every row writes it, formatted once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of_text", units.timestamp(self.as_of))


@dataclass(frozen=True, slots=True)
class LifecycleSavings:
    """What the repository's lifecycle policy, or the recommended one when it has none, will expire."""

    source: str
    images: int | None
    size_bytes: int | None
    monthly_cost: Decimal | None
    expired_digests: frozenset[str]


def lifecycle_savings(snapshot: RepositorySnapshot, context: ReportContext) -> LifecycleSavings:
    """Freed bytes at the storage price, on the cost's own basis (unique blobs when manifests were
    read, else image sizes); a policy this evaluator cannot read leaves the figures empty."""
    source = "repository" if snapshot.lifecycle_policy else "recommended"
    try:
        policy = parse_policy(snapshot.lifecycle_policy or RECOMMENDED_POLICY_TEXT)
    except ValueError:
        return LifecycleSavings("unsupported-policy", None, None, None, frozenset())
    outcome = evaluate(policy, snapshot.images, context.as_of)
    expired = frozenset(image.digest for image in outcome.expired)
    size = outcome.expired_bytes if snapshot.storage is None else snapshot.storage.freed_bytes(expired)
    return LifecycleSavings(
        source, len(expired), size, units.monthly_cost(size, context.prices.standard), expired
    )


@dataclass(frozen=True, slots=True)
class RepositoryCleanup:
    """Each image's use and cleanup verdict, and what deleting the reclaimable ones would save."""

    uses: Mapping[str, ImageUse]
    verdicts: Mapping[str, Verdict]
    lifecycle: LifecycleSavings
    reclaimable_images: int
    reclaimable_digests: frozenset[str]
    reclaimable_bytes: int
    reclaimable_monthly_cost: Decimal
    in_use_images: int
    in_use_not_recently_pulled: int
    """In use, yet not pulled within ``reclaim_after_days``: pull time alone would call them unused."""


def repository_cleanup(snapshot: RepositorySnapshot, context: ReportContext) -> RepositoryCleanup:
    """Reclaimable bytes are on the cost's basis: with unique blobs, only the blobs no kept image
    references; archived images at the archive rate, the rest at the standard one."""
    images = snapshot.images
    children = None if snapshot.storage is None else index_children(snapshot.storage.manifests)
    uses = repository_use(images, context.usage, children or {})
    lifecycle = lifecycle_savings(snapshot, context)
    expiring = lifecycle.expired_digests if lifecycle.source == "repository" else frozenset()
    rules = context.cleanup
    verdicts = cleanup_verdicts(
        images,
        uses,
        rules,
        context.as_of,
        children=children,
        expiring=expiring,
        not_visible=context.visibility.not_visible(snapshot.repository.arn, snapshot.pull_policy),
    )
    reclaimable = [image for image in images if verdicts[image.digest].reclaimable]
    digests = {image.digest for image in reclaimable}
    freed = (
        sum(i.size_bytes for i in reclaimable)
        if snapshot.storage is None
        else snapshot.storage.freed_bytes(digests)
    )
    _, _, cost = priced(freed, archived_bytes(reclaimable), context.prices)
    in_use = [image for image in images if uses[image.digest].in_use]
    pulled_since = units.days_ago(context.as_of, rules.reclaim_after_days)
    return RepositoryCleanup(
        uses=uses,
        verdicts=verdicts,
        lifecycle=lifecycle,
        reclaimable_images=len(reclaimable),
        reclaimable_digests=frozenset(digests),
        reclaimable_bytes=freed,
        reclaimable_monthly_cost=cost,
        in_use_images=len(in_use),
        in_use_not_recently_pulled=sum(
            1 for image in in_use if image.last_pull is None or units.utc(image.last_pull) < pulled_since
        ),
    )


def _trend_values(totals: RepositoryTotals, previous: PreviousReport | None) -> dict[str, str]:
    """Change since the previous report; a repository new since then grew from nothing."""
    if previous is None:
        return {"previousReportDate": "", "sizeChangeBytes": "", "costChange(USD)": ""}
    size, cost = previous.repositories.get(totals.name, (0, Decimal(0)))
    return {
        "previousReportDate": previous.report_date,
        "sizeChangeBytes": str(totals.billable_size_bytes - size),
        "costChange(USD)": units.usd(units.round_usd(totals.monthly_cost) - cost),
    }


@dataclass(frozen=True, slots=True)
class RepositoryTotals:
    """The figures of one repository that the threshold check and the run summary need."""

    name: str
    total_size_bytes: int
    billable_size_bytes: int
    cost_basis: str
    archived_size_bytes: int
    archived_monthly_cost: Decimal
    monthly_cost: Decimal
    last_pull: datetime | None
    days_since_last_pull: int | None


def ordered(values: dict[str, str], columns: Sequence[Column]) -> list[str]:
    if len(values) != len(columns):
        unknown = sorted(set(values) - {c.header for c in columns})
        raise ValueError(f"row does not match its columns (unknown: {unknown})")
    return [values[column.header] for column in columns]


_SEVERITY_HEADERS = tuple((f"findings{s.capitalize()}", s) for s in SEVERITIES)


_NO_SEVERITIES = {header: "" for header, _ in _SEVERITY_HEADERS}
"""An unscanned image's severity cells, made once (rows only read them)."""


def _severity_values(counts: Mapping[str, int] | None) -> dict[str, str]:
    if counts is None:
        return _NO_SEVERITIES
    return {header: str(counts.get(s, 0)) for header, s in _SEVERITY_HEADERS}


def _one_line_policy(policy: str | None) -> str:
    """Athena's CSV reader splits records on newlines even inside quotes, so the policy goes compact."""
    if not policy:
        return ""
    try:
        return units.compact_json(json.loads(policy))
    except ValueError:
        return " ".join(policy.split())


def image_row(
    image: Image, account_id: str, region: str, context: ReportContext, cleanup: RepositoryCleanup
) -> list[str]:
    counts = None if image.severity_counts is None else dict(image.severity_counts)
    use = cleanup.uses[image.digest]
    verdict = cleanup.verdicts[image.digest]
    values = {
        "repositoryName": image.repository_name,
        "imageTags": units.compact_json_strings(image.tags),
        "imagePushedAt": units.timestamp(image.pushed_at),
        "imageSize(MB)": units.megabytes(image.size_bytes),
        "imageScanStatus": image.scan_status,
        "imageScanCompletedAt": units.timestamp(image.scan_completed_at),
        "findingSeverityCounts": "" if counts is None else units.compact_json(counts),
        "lastRecordedPullTime": units.timestamp(image.last_pull),
        "daysSinceLastPull": units.integer(units.days_between(image.last_pull, context.as_of)),
        "accountId": account_id,
        "region": region,
        "imageDigest": image.digest,
        "imageManifestMediaType": image.manifest_media_type,
        "artifactMediaType": image.artifact_media_type,
        "imageStatus": image.status,
        "imageSizeBytes": str(image.size_bytes),
        **_severity_values(counts),
        "lastArchivedAt": units.timestamp(image.last_archived_at),
        "lastActivatedAt": units.timestamp(image.last_activated_at),
        "subjectManifestDigest": image.subject_manifest_digest,
        "asOf": context.as_of_text,
        "inUse": "" if use.in_use is None else units.boolean(use.in_use),
        "inUseCount": units.integer(use.count),
        "lastInUseAt": units.timestamp(use.last_in_use_at),
        "inUseBy": "" if use.in_use is None else units.compact_json_strings(use.places),
        "cleanupVerdict": verdict.verdict,
        "cleanupReason": verdict.text,
    }
    return ordered(values, IMAGE_COLUMNS)


def archived_bytes(images: Iterable[Image]) -> int:
    """The archived images' own sizes: what ``priced`` charges at the archive rate."""
    return sum(image.size_bytes for image in images if image.is_archived)


def priced(size_bytes: int, archived_image_bytes: int, prices: StoragePrices) -> tuple[int, Decimal, Decimal]:
    """(archived bytes, their monthly cost, the whole monthly cost): the archived images at the archive
    rate on their own size, never more than ``size_bytes``, the rest at the standard rate."""
    archived = min(size_bytes, archived_image_bytes)
    archived_cost = units.monthly_cost(archived, prices.archive_rate)
    return archived, archived_cost, units.monthly_cost(size_bytes - archived, prices.standard) + archived_cost


def repository_totals(snapshot: RepositorySnapshot, context: ReportContext) -> RepositoryTotals:
    """Billable bytes are unique blobs when manifests were read, else image sizes (docs/reports.md).

    Archived images are priced at the archive rate on their own size; the rest of the billable
    bytes at the standard rate.
    """
    total = sum(image.size_bytes for image in snapshot.images)
    storage = snapshot.storage
    billable = total if storage is None else storage.total_bytes
    archived, archived_cost, monthly_cost = priced(billable, archived_bytes(snapshot.images), context.prices)
    last_pull = max((i.last_pull for i in snapshot.images if i.last_pull is not None), default=None)
    return RepositoryTotals(
        name=snapshot.repository.name,
        total_size_bytes=total,
        billable_size_bytes=billable,
        cost_basis=BASIS_IMAGE_SIZE if storage is None else storage.basis,
        archived_size_bytes=archived,
        archived_monthly_cost=archived_cost,
        monthly_cost=monthly_cost,
        last_pull=last_pull,
        days_since_last_pull=units.days_between(last_pull, context.as_of),
    )


def repository_row(
    snapshot: RepositorySnapshot, totals: RepositoryTotals, context: ReportContext, cleanup: RepositoryCleanup
) -> list[str]:
    repository, images = snapshot.repository, snapshot.images
    savings = cleanup.lifecycle
    archived = [image for image in images if image.is_archived]
    severity_totals = {
        s: sum((image.severity_counts or {}).get(s, 0) for image in images) for s in SEVERITIES
    }
    values = {
        "repositoryName": repository.name,
        "createdAt": units.timestamp(repository.created_at),
        "scanOnPush": units.boolean(repository.scan_on_push),
        "totalImages": str(len(images)),
        "totalSize(MB)": units.megabytes(totals.total_size_bytes),
        "monthlyStorageCost(USD)": units.usd(totals.monthly_cost),
        "hasBeenPulled": units.boolean(totals.last_pull is not None),
        "lastRecordedPullTime": units.timestamp(totals.last_pull),
        "daysSinceLastPull": units.integer(totals.days_since_last_pull),
        "lifecyclePolicyText": _one_line_policy(snapshot.lifecycle_policy),
        "accountId": repository.account_id,
        "region": repository.region,
        "repositoryUri": repository.uri,
        "totalSizeBytes": str(totals.total_size_bytes),
        "billableSizeBytes": str(totals.billable_size_bytes),
        "costBasis": totals.cost_basis,
        "pricePerGbMonth(USD)": units.usd(context.prices.standard),
        "untaggedImages": str(sum(1 for image in images if not image.tags)),
        "archivedImages": str(len(archived)),
        "archivedSizeBytes": str(totals.archived_size_bytes),
        **_severity_values(severity_totals),
        "imageTagMutability": repository.tag_mutability,
        "encryptionType": repository.encryption_type,
        "asOf": context.as_of_text,
        "lifecycleExpiringImages": units.integer(savings.images),
        "lifecycleExpiringBytes": units.integer(savings.size_bytes),
        "lifecycleMonthlySavings(USD)": ""
        if savings.monthly_cost is None
        else units.usd(savings.monthly_cost),
        "lifecyclePolicySource": savings.source,
        **_trend_values(totals, context.previous),
        "uniqueBlobBytes": "" if snapshot.storage is None else str(snapshot.storage.total_bytes),
        "archivePricePerGbMonth(USD)": units.usd(context.prices.archive_rate),
        "archivedMonthlyCost(USD)": units.usd(totals.archived_monthly_cost),
        "priceSource": context.prices.source,
        "inUseImages": str(cleanup.in_use_images),
        "inUseNotRecentlyPulledImages": str(cleanup.in_use_not_recently_pulled),
        "reclaimableImages": str(cleanup.reclaimable_images),
        "reclaimableBytes": str(cleanup.reclaimable_bytes),
        "reclaimableMonthlySavings(USD)": units.usd(cleanup.reclaimable_monthly_cost),
        "reclaimAfterDays": str(context.cleanup.reclaim_after_days),
    }
    return ordered(values, REPOSITORY_COLUMNS)
