"""The columns of each report: header text, Athena name and kind, in their one true order.

docs/reports.md: the first columns are the original document's, in its order and with its names; new
columns are only ever appended. Athena names are derived from the headers, never typed twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ecr_provider.core.records import SEVERITIES


class Kind(Enum):
    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"
    JSON = "json"


SQL_TYPES: dict[Kind, str] = {
    Kind.TIMESTAMP: "timestamp",
    Kind.DATE: "date",
    Kind.BOOLEAN: "boolean",
    Kind.INTEGER: "bigint",
    Kind.DECIMAL: "double",
}
"""Athena's type of each typed kind; text and JSON are strings. The typed views use them all."""
_TABLE_TYPED_KINDS = frozenset({Kind.INTEGER, Kind.DECIMAL, Kind.BOOLEAN})
"""Kinds the tables type themselves: OpenCSVSerde reads no timestamp or date written as ours are."""


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: Kind
    optional: bool = False

    @property
    def athena_name(self) -> str:
        return athena_name(self.header)

    @property
    def athena_type(self) -> str:
        """OpenCSVSerde cannot read an empty field as a number, so columns that may be empty stay strings."""
        if self.optional or self.kind not in _TABLE_TYPED_KINDS:
            return "string"
        return SQL_TYPES[self.kind]


def athena_name(header: str) -> str:
    """``totalSize(MB)`` -> ``total_size_mb``: lowercase letters, digits and underscores only."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", header)
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


def _severity_columns(prefix: str, *, optional: bool) -> tuple[Column, ...]:
    return tuple(Column(f"{prefix}{s.capitalize()}", Kind.INTEGER, optional) for s in SEVERITIES)


REPOSITORY_COLUMNS: tuple[Column, ...] = (
    Column("repositoryName", Kind.TEXT),
    Column("createdAt", Kind.TIMESTAMP, optional=True),
    Column("scanOnPush", Kind.BOOLEAN),
    Column("totalImages", Kind.INTEGER),
    Column("totalSize(MB)", Kind.DECIMAL),
    Column("monthlyStorageCost(USD)", Kind.DECIMAL),
    Column("hasBeenPulled", Kind.BOOLEAN),
    Column("lastRecordedPullTime", Kind.TIMESTAMP, optional=True),
    Column("daysSinceLastPull", Kind.INTEGER, optional=True),
    Column("lifecyclePolicyText", Kind.JSON, optional=True),
    Column("accountId", Kind.TEXT),
    Column("region", Kind.TEXT),
    Column("repositoryUri", Kind.TEXT),
    Column("totalSizeBytes", Kind.INTEGER),
    Column("billableSizeBytes", Kind.INTEGER),
    Column("costBasis", Kind.TEXT),
    Column("pricePerGbMonth(USD)", Kind.DECIMAL),
    Column("untaggedImages", Kind.INTEGER),
    Column("archivedImages", Kind.INTEGER),
    Column("archivedSizeBytes", Kind.INTEGER),
    *_severity_columns("findings", optional=False),
    Column("imageTagMutability", Kind.TEXT),
    Column("encryptionType", Kind.TEXT),
    Column("asOf", Kind.TIMESTAMP),
    Column("lifecycleExpiringImages", Kind.INTEGER, optional=True),
    Column("lifecycleExpiringBytes", Kind.INTEGER, optional=True),
    Column("lifecycleMonthlySavings(USD)", Kind.DECIMAL, optional=True),
    Column("lifecyclePolicySource", Kind.TEXT),
    Column("previousReportDate", Kind.DATE, optional=True),
    Column("sizeChangeBytes", Kind.INTEGER, optional=True),
    Column("costChange(USD)", Kind.DECIMAL, optional=True),
    Column("uniqueBlobBytes", Kind.INTEGER, optional=True),
    Column("archivePricePerGbMonth(USD)", Kind.DECIMAL),
    Column("archivedMonthlyCost(USD)", Kind.DECIMAL),
    Column("priceSource", Kind.TEXT),
    Column("inUseImages", Kind.INTEGER),
    Column("inUseNotRecentlyPulledImages", Kind.INTEGER),
    Column("reclaimableImages", Kind.INTEGER),
    Column("reclaimableBytes", Kind.INTEGER),
    Column("reclaimableMonthlySavings(USD)", Kind.DECIMAL),
    Column("reclaimAfterDays", Kind.INTEGER),
)

IMAGE_COLUMNS: tuple[Column, ...] = (
    Column("repositoryName", Kind.TEXT),
    Column("imageTags", Kind.JSON),
    Column("imagePushedAt", Kind.TIMESTAMP, optional=True),
    Column("imageSize(MB)", Kind.DECIMAL),
    Column("imageScanStatus", Kind.TEXT),
    Column("imageScanCompletedAt", Kind.TIMESTAMP, optional=True),
    Column("findingSeverityCounts", Kind.JSON, optional=True),
    Column("lastRecordedPullTime", Kind.TIMESTAMP, optional=True),
    Column("daysSinceLastPull", Kind.INTEGER, optional=True),
    Column("accountId", Kind.TEXT),
    Column("region", Kind.TEXT),
    Column("imageDigest", Kind.TEXT),
    Column("imageManifestMediaType", Kind.TEXT),
    Column("artifactMediaType", Kind.TEXT),
    Column("imageStatus", Kind.TEXT),
    Column("imageSizeBytes", Kind.INTEGER),
    *_severity_columns("findings", optional=True),
    Column("lastArchivedAt", Kind.TIMESTAMP, optional=True),
    Column("lastActivatedAt", Kind.TIMESTAMP, optional=True),
    Column("subjectManifestDigest", Kind.TEXT),
    Column("asOf", Kind.TIMESTAMP),
    Column("inUse", Kind.BOOLEAN, optional=True),
    Column("inUseCount", Kind.INTEGER, optional=True),
    Column("lastInUseAt", Kind.TIMESTAMP, optional=True),
    Column("inUseBy", Kind.JSON, optional=True),
    Column("cleanupVerdict", Kind.TEXT),
    Column("cleanupReason", Kind.TEXT),
)

FINDING_COLUMNS: tuple[Column, ...] = (
    Column("accountId", Kind.TEXT),
    Column("region", Kind.TEXT),
    Column("repositoryName", Kind.TEXT),
    Column("imageDigest", Kind.TEXT),
    Column("imageTags", Kind.JSON),
    Column("findingId", Kind.TEXT),
    Column("findingName", Kind.TEXT),
    Column("severity", Kind.TEXT),
    Column("cvssScore", Kind.DECIMAL, optional=True),
    Column("packageName", Kind.TEXT),
    Column("installedVersion", Kind.TEXT),
    Column("fixedVersion", Kind.TEXT),
    Column("status", Kind.TEXT),
    Column("firstObservedAt", Kind.TIMESTAMP, optional=True),
    Column("lastObservedAt", Kind.TIMESTAMP, optional=True),
    Column("referenceUrl", Kind.TEXT),
    Column("asOf", Kind.TIMESTAMP),
)
"""Opt-in (``include_findings``): its own report, not columns of the others, as a finding is a row."""

REGISTRY_COLUMNS: tuple[Column, ...] = (
    Column("accountId", Kind.TEXT),
    Column("region", Kind.TEXT),
    Column("repositories", Kind.INTEGER),
    Column("images", Kind.INTEGER),
    Column("blobMounting", Kind.TEXT),
    Column("repositoryUniqueBlobBytes", Kind.INTEGER, optional=True),
    Column("registryUniqueBlobBytes", Kind.INTEGER, optional=True),
    Column("crossRepositoryDuplicateBytes", Kind.INTEGER, optional=True),
    Column("monthlyStorageCost(USD)", Kind.DECIMAL),
    Column("reclaimableBytes", Kind.INTEGER),
    Column("reclaimableCost(USD)", Kind.DECIMAL),
    Column("archivedBytes", Kind.INTEGER),
    Column("costBasis", Kind.TEXT),
    Column("billableSizeBytes", Kind.INTEGER),
    Column("totalSizeBytes", Kind.INTEGER),
    Column("pricePerGbMonth(USD)", Kind.DECIMAL),
    Column("priceSource", Kind.TEXT),
    Column("asOf", Kind.TIMESTAMP),
    Column("repositoriesMonthlyCost(USD)", Kind.DECIMAL),
    Column("previousReportDate", Kind.DATE, optional=True),
    Column("repositoriesSizeChangeBytes", Kind.INTEGER, optional=True),
    Column("repositoriesCostChange(USD)", Kind.DECIMAL, optional=True),
    Column("usageSources", Kind.JSON),
)
"""One row per registry (account and region); ``core.registries`` says what each figure counts."""

REPOSITORIES_REPORT = "repositories_summary"
IMAGES_REPORT = "images_summary"
FINDINGS_REPORT = "image_findings"
REGISTRIES_REPORT = "registries_summary"
REPORTS: dict[str, tuple[Column, ...]] = {
    REPOSITORIES_REPORT: REPOSITORY_COLUMNS,
    IMAGES_REPORT: IMAGE_COLUMNS,
    FINDINGS_REPORT: FINDING_COLUMNS,
    REGISTRIES_REPORT: REGISTRY_COLUMNS,
}


def reports_written(include_findings: bool) -> tuple[str, ...]:
    """The reports a run writes, and so the only ones whose date it may clear of stale objects: a run
    without findings leaves the date's image_findings (from a run that asked for them) alone."""
    return tuple(report for report in REPORTS if include_findings or report != FINDINGS_REPORT)
