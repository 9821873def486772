"""The ``image_findings`` report: one row per vulnerability finding per image.

Findings come from Amazon Inspector under enhanced scanning and from ECR's DescribeImageScanFindings
under basic scanning (:mod:`ecr_provider.aws.inspector` parses both into :class:`Finding`). The
report is bounded to images pushed or pulled within N days: old, unused images would otherwise
dominate it while nobody runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ecr_provider.core import units
from ecr_provider.core.columns import Column, Kind
from ecr_provider.core.records import Image

FINDINGS_REPORT = "image_findings"


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability in one image; empty strings and None are values the source does not give."""

    account_id: str
    region: str
    repository_name: str
    image_digest: str
    image_tags: tuple[str, ...]
    finding_id: str
    """Inspector's finding ARN; empty under basic scanning, which gives a finding no identity."""
    name: str
    """The vulnerability id (a CVE id, or the vendor's advisory id)."""
    severity: str
    """In ECR's vocabulary (``records.SEVERITIES``): Inspector's UNTRIAGED is UNDEFINED here."""
    cvss_score: Decimal | None
    package_name: str
    installed_version: str
    fixed_version: str
    status: str
    first_observed_at: datetime | None
    last_observed_at: datetime | None
    reference_url: str


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


def finding_row(finding: Finding, as_of: datetime) -> list[str]:
    values = {
        "accountId": finding.account_id,
        "region": finding.region,
        "repositoryName": finding.repository_name,
        "imageDigest": finding.image_digest,
        "imageTags": units.compact_json(list(finding.image_tags)),
        "findingId": finding.finding_id,
        "findingName": finding.name,
        "severity": finding.severity,
        "cvssScore": "" if finding.cvss_score is None else str(finding.cvss_score),
        "packageName": finding.package_name,
        "installedVersion": finding.installed_version,
        "fixedVersion": finding.fixed_version,
        "status": finding.status,
        "firstObservedAt": units.timestamp(finding.first_observed_at),
        "lastObservedAt": units.timestamp(finding.last_observed_at),
        "referenceUrl": finding.reference_url,
        "asOf": units.timestamp(as_of),
    }
    return [values[column.header] for column in FINDING_COLUMNS]


def within_age(image: Image, as_of: datetime, max_age_days: int) -> bool:
    """Pushed or pulled at most ``max_age_days`` days before ``as_of`` (the boundary included)."""
    if max_age_days < 0:
        raise ValueError(f"findings_max_age_days must be 0 or more, got {max_age_days}")
    cutoff = units.utc(as_of) - timedelta(days=max_age_days)
    return any(
        moment is not None and units.utc(moment) >= cutoff for moment in (image.pushed_at, image.last_pull)
    )
