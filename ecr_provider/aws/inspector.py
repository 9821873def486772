"""Vulnerability data DescribeImages leaves out: enhanced-scanning counts and status, and findings.

Under enhanced scanning (Amazon Inspector) DescribeImages carries neither ``imageScanFindingsSummary``
nor ``imageScanStatus`` (aws/containers-roadmap#1662), so a report built on it alone shows no
vulnerabilities. The per-image figures are read from Inspector once per registry, never per image:

* ``ListCoverage`` (resourceType AWS_ECR_CONTAINER_IMAGE, accountId), 200 images a call: each
  covered image's scan status (the ``scanStatus.reason``, e.g. SUCCESSFUL, PENDING_INITIAL_SCAN,
  SCAN_ELIGIBILITY_EXPIRED) and ``lastScannedAt``.
* ``ListFindingAggregations`` (AWS_ECR_CONTAINER, accountIds), 100 images a call: the severity
  counts of every image that has findings. A scanned image missing from it has none.

DescribeImageScanFindings gives the same for one image per call (more for long finding lists):
N calls for N images, where these two take ceil(N/200) + ceil(images with findings/100).

Inspector's entries become the project's records in :mod:`ecr_provider.core.inspector_findings`.

Inspector is regional: the inspector2 client must be in the registry's region, and that is checked.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import Any

from botocore.exceptions import ClientError

from ecr_provider.aws.errors import aws_call, error_code
from ecr_provider.aws.pool import ordered_map
from ecr_provider.core.findings import Finding, ImageKey, finding_order
from ecr_provider.core.inspector_findings import ECR_IMAGE, ecr_severity_counts, image_key, inspector_finding
from ecr_provider.core.records import Image

log = logging.getLogger(__name__)

BASIC = "BASIC"
ENHANCED = "ENHANCED"
COVERAGE_PAGE_SIZE = 200
AGGREGATION_PAGE_SIZE = 100
FINDINGS_PAGE_SIZE = 100
BASIC_FINDINGS_PAGE_SIZE = 1000
FINDINGS_CURRENT = frozenset({"SUCCESSFUL", "SCAN_FREQUENCY_SCAN_ON_PUSH"})
"""Coverage reasons under which a scanned image's findings stand: no aggregation entry means none."""
GONE_OR_UNSCANNED = frozenset(
    {"ScanNotFoundException", "ImageNotFoundException", "RepositoryNotFoundException"}
)


@dataclass(frozen=True, slots=True)
class EnhancedScan:
    """One image as Inspector sees it; ``severity_counts`` None means unknown, as in ``Image``."""

    status: str
    completed_at: datetime | None
    severity_counts: Mapping[str, int] | None


@dataclass(frozen=True, slots=True)
class RegistryScans:
    """The registry's scan type and, under ENHANCED, Inspector's view of each covered image."""

    scan_type: str
    images: Mapping[ImageKey, EnhancedScan] = field(default_factory=dict)

    def apply(self, image: Image) -> Image:
        """The image with Inspector's status and counts; unchanged under BASIC or when not covered."""
        scan = self.images.get((image.repository_name, image.digest))
        if scan is None:
            return image
        return replace(
            image,
            scan_status=scan.status,
            scan_completed_at=scan.completed_at,
            severity_counts=scan.severity_counts,
        )


def registry_scan_type(ecr_client: Any) -> str:
    """BASIC or ENHANCED: which service holds the registry's findings."""
    with aws_call("ecr"):
        response = ecr_client.get_registry_scanning_configuration()
    return str(response.get("scanningConfiguration", {}).get("scanType", BASIC))


def registry_image_scans(
    ecr_client: Any,
    inspector2_client: Any,
    account_id: str,
    region: str,
    repository_names: Iterable[str] | None = None,
) -> RegistryScans:
    """Under BASIC nothing is asked of Inspector: DescribeImages already has the findings summary."""
    scan_type = registry_scan_type(ecr_client)
    if scan_type != ENHANCED:
        return RegistryScans(scan_type)
    names = None if repository_names is None else frozenset(repository_names)
    scans = enhanced_scan_status(inspector2_client, account_id, region, names)
    for key, counts in enhanced_severity_counts(inspector2_client, account_id, region, names).items():
        scans[key] = replace(scans.get(key, EnhancedScan("", None, None)), severity_counts=counts)
    return RegistryScans(scan_type, scans)


def enhanced_scan_status(
    inspector2_client: Any, account_id: str, region: str, repository_names: Iterable[str] | None
) -> dict[ImageKey, EnhancedScan]:
    """Every image Inspector covers in the registry; counts are {} where a scan stands, else None."""
    _check_region(inspector2_client, region)
    wanted = None if repository_names is None else frozenset(repository_names)
    criteria = {"resourceType": [_equals(ECR_IMAGE)], "accountId": [_equals(account_id)]}
    scans: dict[ImageKey, EnhancedScan] = {}
    pages = _pages(
        inspector2_client,
        "list_coverage",
        filterCriteria=criteria,
        PaginationConfig={"PageSize": COVERAGE_PAGE_SIZE},
    )
    for page in pages:
        for resource in page["coveredResources"]:
            key = image_key(resource["resourceId"])
            if wanted is not None and key[0] not in wanted:
                continue
            status = resource.get("scanStatus", {}).get("reason", "")
            scanned_at = resource.get("lastScannedAt")
            current = scanned_at is not None and status in FINDINGS_CURRENT
            scans[key] = EnhancedScan(status, scanned_at, {} if current else None)
    return scans


def enhanced_severity_counts(
    inspector2_client: Any, account_id: str, region: str, repository_names: Iterable[str] | None
) -> dict[ImageKey, dict[str, int]]:
    """Severity counts in ECR's keys of every image with findings, from one paginated aggregation.

    The repositories are filtered here rather than in the request: its filter takes at most 10
    names, so a server-side filter would cost one paginated call per 10 repositories.
    """
    _check_region(inspector2_client, region)
    wanted = None if repository_names is None else frozenset(repository_names)
    counts: dict[ImageKey, dict[str, int]] = {}
    pages = _pages(
        inspector2_client,
        "list_finding_aggregations",
        aggregationType="AWS_ECR_CONTAINER",
        accountIds=[_equals(account_id)],
        PaginationConfig={"PageSize": AGGREGATION_PAGE_SIZE},
    )
    for page in pages:
        for response in page["responses"]:
            aggregation = response["awsEcrContainerAggregation"]
            if aggregation.get("repository") and aggregation.get("imageSha"):
                key = (aggregation["repository"], aggregation["imageSha"])
            else:
                key = image_key(aggregation["resourceId"])
            if wanted is None or key[0] in wanted:
                counts[key] = ecr_severity_counts(aggregation.get("severityCounts", {}))
    return counts


def image_findings(
    inspector2_client: Any,
    account_id: str,
    region: str,
    *,
    images: Container[ImageKey] | None = None,
) -> Iterator[Finding]:
    """The registry's open (ACTIVE or SUPPRESSED) findings, streamed from one paginated ListFindings.

    ``images`` are the images the report is bounded to (``core.findings.within_age``). Inspector
    cannot apply that bound: it filters on push time (``ecrImagePushedAt``) but knows no ECR pull
    time (``ecrImageLastInUseAt`` is use by ECS tasks and EKS pods), so it is applied here.
    """
    _check_region(inspector2_client, region)
    criteria = {
        "resourceType": [_equals(ECR_IMAGE)],
        "awsAccountId": [_equals(account_id)],
        "findingStatus": [{"comparison": "NOT_EQUALS", "value": "CLOSED"}],
    }
    pages = _pages(
        inspector2_client,
        "list_findings",
        filterCriteria=criteria,
        PaginationConfig={"PageSize": FINDINGS_PAGE_SIZE},
    )
    for page in pages:
        for raw in page["findings"]:
            finding = inspector_finding(raw, region)
            if finding is not None and (
                images is None or (finding.repository_name, finding.image_digest) in images
            ):
                yield finding


def basic_image_findings(
    ecr_client: Any, repository_name: str, image_digest: str, tags: Iterable[str]
) -> Iterator[Finding]:
    """One image's basic-scan findings; none when it was never scanned or has gone since it was listed.

    Basic scanning gives a finding no id, status, first sighting or fixed version: those stay empty,
    and the last sighting is the scan's completion.
    """
    tags = tuple(tags)
    region = ecr_client.meta.region_name
    pages = ecr_client.get_paginator("describe_image_scan_findings").paginate(
        repositoryName=repository_name,
        imageId={"imageDigest": image_digest},
        PaginationConfig={"PageSize": BASIC_FINDINGS_PAGE_SIZE},
    )
    with aws_call("ecr", f"{repository_name}@{image_digest}"):
        try:
            for page in pages:
                scan = page.get("imageScanFindings", {})
                for raw in scan.get("findings", []):
                    attributes = {item["key"]: item.get("value", "") for item in raw.get("attributes", [])}
                    yield Finding(
                        account_id=page.get("registryId", ""),
                        region=region,
                        repository_name=repository_name,
                        image_digest=image_digest,
                        image_tags=tags,
                        finding_id="",
                        name=raw.get("name", ""),
                        severity=raw.get("severity", ""),
                        cvss_score=_decimal(attributes.get("CVSS3_SCORE") or attributes.get("CVSS2_SCORE")),
                        package_name=attributes.get("package_name", ""),
                        installed_version=attributes.get("package_version", ""),
                        fixed_version="",
                        status="",
                        first_observed_at=None,
                        last_observed_at=scan.get("imageScanCompletedAt"),
                        reference_url=raw.get("uri", ""),
                    )
        except ClientError as error:
            if error_code(error) not in GONE_OR_UNSCANNED:
                raise
            log.debug(
                "No basic scan findings for %s@%s: %s", repository_name, image_digest, error_code(error)
            )


@dataclass(frozen=True, slots=True)
class RegistryFindings:
    """Reads one registry's findings where its scan type keeps them: Inspector or ECR."""

    scan_type: str
    ecr_client: Any
    inspector2_client: Any
    account_id: str
    region: str
    max_age_days: int
    """The report's bound: images pushed or pulled within this many days (``core.findings``)."""
    max_concurrency: int

    def read(self, images: Mapping[ImageKey, tuple[str, ...]]) -> list[Finding]:
        """The findings of ``images`` in report order, tagged with the images' current tags.

        Under ENHANCED one ListFindings pass covers the registry (Inspector's tags may be older than
        ECR's, so ECR's are written). Under BASIC each image is one DescribeImageScanFindings call,
        on the bounded pool. Rows are sorted, so the whole registry's findings are held: the age
        bound and the skip of images without findings keep that small.
        """
        if not images:
            return []
        if self.scan_type == ENHANCED:
            found: Iterable[Finding] = (
                replace(finding, image_tags=images[(finding.repository_name, finding.image_digest)])
                for finding in image_findings(
                    self.inspector2_client, self.account_id, self.region, images=images
                )
            )
        else:
            found = chain.from_iterable(
                ordered_map(
                    lambda key: self._basic(key, images[key]),
                    sorted(images),
                    self.max_concurrency,
                    "ecr-findings",
                )
            )
        return sorted(found, key=finding_order)

    def _basic(self, key: ImageKey, tags: tuple[str, ...]) -> list[Finding]:
        repository_name, digest = key
        return list(basic_image_findings(self.ecr_client, repository_name, digest, tags))


def _check_region(client: Any, region: str) -> None:
    """Inspector is regional: a client of another region would report that region's images."""
    if client.meta.region_name != region:
        raise ValueError(
            f"the inspector2 client is for {client.meta.region_name}, not the registry's {region}"
        )


def _equals(value: str) -> dict[str, str]:
    return {"comparison": "EQUALS", "value": value}


def _pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    with aws_call("inspector2"):
        yield from client.get_paginator(operation).paginate(**kwargs)


def _decimal(text: str | None) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
