"""The ``image_findings`` report: one row per vulnerability finding per image.

Findings come from Amazon Inspector under enhanced scanning and from ECR's DescribeImageScanFindings
under basic scanning, both read by :mod:`ecr_provider.aws.inspector`; Inspector's entries become a
:class:`Finding` in :mod:`ecr_provider.core.inspector_findings`. The report is bounded to images
pushed or pulled within N days: old, unused images would otherwise dominate it while nobody runs them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ecr_provider.core import units
from ecr_provider.core.columns import FINDING_COLUMNS
from ecr_provider.core.records import SEVERITIES, Image

ImageKey = tuple[str, str]
"""(repository name, image digest)"""


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


def images_with_findings(
    images: Iterable[Image], as_of: datetime, max_age_days: int
) -> dict[ImageKey, tuple[str, ...]]:
    """The images the report lists findings of, with their current tags.

    An image whose counts show no finding (a clean scan, no scan, a failed one) has none to list,
    so it costs no call; under enhanced scanning the counts are Inspector's, so this holds there too.
    """
    return {
        (image.repository_name, image.digest): image.tags
        for image in images
        if image.severity_counts and within_age(image, as_of, max_age_days)
    }


def finding_order(finding: Finding) -> tuple[str, str, int, str, str, str, str]:
    """Rows by image, most severe first, then by name: Inspector pages come in no stable order."""
    rank = SEVERITIES.index(finding.severity) if finding.severity in SEVERITIES else len(SEVERITIES)
    return (
        finding.repository_name,
        finding.image_digest,
        rank,
        finding.name,
        finding.package_name,
        finding.installed_version,
        finding.finding_id,
    )
