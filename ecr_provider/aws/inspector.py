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

What is read for a whole registry (the coverage of every image, the images whose findings are
listed, findings that arrive in no order) is kept in a temporary SQLite file (:class:`ImageSpill`,
:class:`FindingSpill`), not in memory, and so is a basic-scan image's findings beyond one page: a run's
memory is bounded by its largest repository and a page of findings shared among the readers
(:func:`basic_page_size`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import chain, islice
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from ecr_provider.aws.errors import aws_call, error_code
from ecr_provider.aws.pool import ordered_map
from ecr_provider.core.findings import Finding, ImageKey, finding_order
from ecr_provider.core.inspector_findings import ECR_IMAGE, ecr_severity_counts, image_key, inspector_finding
from ecr_provider.core.records import Image, InspectorUse

log = logging.getLogger(__name__)

BASIC = "BASIC"
ENHANCED = "ENHANCED"
COVERAGE_PAGE_SIZE = 200
AGGREGATION_PAGE_SIZE = 100
FINDINGS_PAGE_SIZE = 100
BASIC_FINDINGS_PAGE_SIZE = 1000
"""DescribeImageScanFindings' largest page."""
BASIC_FINDINGS_MIN_PAGE_SIZE = 100
"""The smallest page a reader asks for, so an image of 10,000 findings costs at most 100 calls."""
FINDINGS_CURRENT = frozenset({"SUCCESSFUL", "SCAN_FREQUENCY_SCAN_ON_PUSH"})
"""Coverage reasons under which a scanned image's findings stand: no aggregation entry means none."""
GONE_OR_UNSCANNED = frozenset(
    {"ScanNotFoundException", "ImageNotFoundException", "RepositoryNotFoundException"}
)
SPILL_BATCH = 1000
"""Rows a spill writes or reads at a time."""
SPILL_CACHE_KIB = 256
"""SQLite's page cache for one basic-scan image's findings (2 MiB by default): up to twice the readers
wait for the writer, each in a spill of its own."""

Value = TypeVar("Value")


class ImageSpill(Mapping[ImageKey, Value]):
    """A mapping by image in a temporary SQLite file, iterated in key order; safe across threads.

    The file (SQLite's private temporary database) is deleted with the spill; SQLite's page cache,
    not the entries, bounds the memory it takes.
    """

    def __init__(self, encode: Callable[[Value], str], decode: Callable[[str], Value]) -> None:
        self._encode = encode
        self._decode = decode
        self._lock = threading.Lock()
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.execute(
            "CREATE TABLE entries (repository TEXT, digest TEXT, value TEXT,"
            " PRIMARY KEY (repository, digest)) WITHOUT ROWID"
        )

    def update(self, entries: Iterable[tuple[ImageKey, Value]]) -> None:
        rows = ((name, digest, self._encode(value)) for (name, digest), value in entries)
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)

    def __getitem__(self, key: ImageKey) -> Value:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM entries WHERE repository = ? AND digest = ?", key
            ).fetchone()
        if row is None:
            raise KeyError(key)
        return self._decode(row[0])

    def __len__(self) -> int:
        with self._lock:
            count: int = self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        return count

    def __iter__(self) -> Iterator[ImageKey]:
        for key, _ in self.ordered_items():
            yield key

    def ordered_items(self) -> Iterator[tuple[ImageKey, Value]]:
        """(key, value) in key order, read a batch at a time (each after the last key read, so the
        batches need no open cursor; no repository name is empty)."""
        after: tuple[str, str] = ("", "")
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT repository, digest, value FROM entries WHERE (repository, digest) > (?, ?)"
                    " ORDER BY repository, digest LIMIT ?",
                    (*after, SPILL_BATCH),
                ).fetchall()
            for name, digest, value in rows:
                yield (name, digest), self._decode(value)
            if len(rows) < SPILL_BATCH:
                return
            after = rows[-1][0], rows[-1][1]


def image_tags_spill() -> ImageSpill[tuple[str, ...]]:
    """The images whose findings a report lists, with their current tags."""
    return ImageSpill(_json_text, lambda text: tuple(json.loads(text)))


def ordered_items(images: Mapping[ImageKey, Value]) -> Iterator[tuple[ImageKey, Value]]:
    """A mapping's entries in key order: a spill reads them so, anything else is sorted first."""
    if isinstance(images, ImageSpill):
        return images.ordered_items()
    return iter(sorted(images.items()))


@dataclass(frozen=True, slots=True)
class EnhancedScan:
    """One image as Inspector sees it; ``severity_counts`` None means unknown, as in ``Image``."""

    status: str
    completed_at: datetime | None
    severity_counts: Mapping[str, int] | None
    in_use: InspectorUse | None = None
    """The coverage's in-use fields; None when the entry had none (or came from findings alone)."""


def _encode_scan(scan: EnhancedScan) -> str:
    counts = None if scan.severity_counts is None else dict(scan.severity_counts)
    in_use = None if scan.in_use is None else [scan.in_use.count, _iso(scan.in_use.last_in_use_at)]
    return _json_text([scan.status, _iso(scan.completed_at), counts, in_use])


def _decode_scan(text: str) -> EnhancedScan:
    status, completed, counts, in_use = json.loads(text)
    use = None if in_use is None else InspectorUse(in_use[0], _moment(in_use[1]))
    return EnhancedScan(status, _moment(completed), counts, use)


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
            inspector_use=scan.in_use,
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
    scans: ImageSpill[EnhancedScan] = ImageSpill(_encode_scan, _decode_scan)
    for page in _batches(enhanced_scan_status(inspector2_client, account_id, region, names)):
        scans.update(page)
    counted = _batches(enhanced_severity_counts(inspector2_client, account_id, region, names))
    for counts_page in counted:
        # A list, not a generator: the spill's lock is held while it writes.
        merged = [
            (key, replace(scans.get(key, EnhancedScan("", None, None)), severity_counts=counts))
            for key, counts in counts_page
        ]
        scans.update(merged)
    return RegistryScans(scan_type, scans)


def enhanced_scan_status(
    inspector2_client: Any, account_id: str, region: str, repository_names: Iterable[str] | None
) -> Iterator[tuple[ImageKey, EnhancedScan]]:
    """Every image Inspector covers in the registry; counts are {} where a scan stands, else None."""
    _check_region(inspector2_client, region)
    wanted = None if repository_names is None else frozenset(repository_names)
    criteria = {"resourceType": [_equals(ECR_IMAGE)], "accountId": [_equals(account_id)]}
    return _covered(inspector2_client, criteria, wanted)


def _covered(
    inspector2_client: Any, criteria: dict[str, Any], wanted: Container[str] | None
) -> Iterator[tuple[ImageKey, EnhancedScan]]:
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
            yield key, EnhancedScan(status, scanned_at, {} if current else None, _in_use(resource))


def _in_use(resource: Mapping[str, Any]) -> InspectorUse | None:
    """``inUseCount`` and ``lastInUseAt``: ECS tasks and EKS pods running the image, as Inspector sees."""
    metadata = resource.get("resourceMetadata", {}).get("ecrImage", {})
    if "inUseCount" not in metadata and "lastInUseAt" not in metadata:
        return None
    return InspectorUse(int(metadata.get("inUseCount", 0)), metadata.get("lastInUseAt"))


def enhanced_severity_counts(
    inspector2_client: Any, account_id: str, region: str, repository_names: Iterable[str] | None
) -> Iterator[tuple[ImageKey, dict[str, int]]]:
    """Severity counts in ECR's keys of every image with findings, from one paginated aggregation.

    The repositories are filtered here rather than in the request: its filter takes at most 10
    names, so a server-side filter would cost one paginated call per 10 repositories.
    """
    _check_region(inspector2_client, region)
    wanted = None if repository_names is None else frozenset(repository_names)
    return _counted(inspector2_client, account_id, wanted)


def _counted(
    inspector2_client: Any, account_id: str, wanted: Container[str] | None
) -> Iterator[tuple[ImageKey, dict[str, int]]]:
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
                yield key, ecr_severity_counts(aggregation.get("severityCounts", {}))


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


def basic_page_size(readers: int) -> int:
    """A reader's page of basic-scan findings, which is also the most it sorts in memory before it
    spills: the API's largest page shared among the readers, so the pages being read and the results
    waiting for the writer hold about one large page in all rather than one each (the floor of
    ``BASIC_FINDINGS_MIN_PAGE_SIZE`` keeps a long list from costing a call per few findings)."""
    return min(
        BASIC_FINDINGS_PAGE_SIZE, max(BASIC_FINDINGS_MIN_PAGE_SIZE, BASIC_FINDINGS_PAGE_SIZE // readers)
    )


def basic_image_findings(
    ecr_client: Any,
    repository_name: str,
    image_digest: str,
    tags: Iterable[str],
    *,
    page_size: int = BASIC_FINDINGS_PAGE_SIZE,
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
        PaginationConfig={"PageSize": page_size},
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

    def read(self, images: Mapping[ImageKey, tuple[str, ...]]) -> Iterator[Finding]:
        """The findings of ``images`` in report order, tagged with the images' current tags.

        Under ENHANCED one ListFindings pass covers the registry (Inspector's tags may be older than
        ECR's, so ECR's are written); its findings come in no order, so they are sorted in a
        :class:`FindingSpill`. Under BASIC each image is one DescribeImageScanFindings call on the
        bounded pool, the images in key order: sorting each image's findings sorts them all.
        """
        if not images:
            return
        if self.scan_type == ENHANCED:
            spill = FindingSpill()
            try:
                spill.add(
                    replace(finding, image_tags=images[(finding.repository_name, finding.image_digest)])
                    for finding in image_findings(
                        self.inspector2_client, self.account_id, self.region, images=images
                    )
                )
                yield from spill.in_report_order()
            finally:
                spill.close()
            return
        for found in ordered_map(self._basic, ordered_items(images), self.max_concurrency, "ecr-findings"):
            if isinstance(found, FindingSpill):
                try:
                    yield from found.in_report_order()
                finally:
                    found.close()
            else:
                yield from found

    def _basic(self, image: tuple[ImageKey, tuple[str, ...]]) -> list[Finding] | FindingSpill:
        """One image's findings in report order: sorted in memory when they fit in one page
        (:func:`basic_page_size`), else in a :class:`FindingSpill`, so that the readers and the results
        waiting for the writer hold a small page each, not an image's findings each."""
        (repository_name, digest), tags = image
        page_size = basic_page_size(self.max_concurrency)
        found = basic_image_findings(self.ecr_client, repository_name, digest, tags, page_size=page_size)
        first = list(islice(found, page_size))
        if len(first) < page_size:
            return sorted(first, key=finding_order)
        spill = FindingSpill(cache_kib=SPILL_CACHE_KIB)
        spill.add(chain(first, found))
        return spill


class FindingSpill:
    """Findings sorted in report order (``finding_order``) in a temporary SQLite file; ties keep the
    order they were added in, as a stable sort does. SQLite compares text as UTF-8 bytes, which
    orders it as Python orders code points."""

    _KEY_COLUMNS = ("repository", "digest", "severity_rank", "name", "package", "version", "finding_id")

    def __init__(self, *, cache_kib: int | None = None) -> None:
        # Filled by one thread and read by another once it is full (a basic-scan image's findings).
        self._db = sqlite3.connect("", check_same_thread=False)
        if cache_kib is not None:
            self._db.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
        columns = ", ".join(self._KEY_COLUMNS)
        self._db.execute(f"CREATE TABLE findings ({columns}, finding TEXT)")

    def add(self, findings: Iterable[Finding]) -> None:
        rows = ((*finding_order(finding), _encode_finding(finding)) for finding in findings)
        with self._db:
            self._db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def in_report_order(self) -> Iterator[Finding]:
        order = ", ".join((*self._KEY_COLUMNS, "rowid"))
        cursor = self._db.execute(f"SELECT finding FROM findings ORDER BY {order}")
        while rows := cursor.fetchmany(SPILL_BATCH):
            for (text,) in rows:
                yield _decode_finding(text)

    def close(self) -> None:
        self._db.close()


def _encode_finding(finding: Finding) -> str:
    return _json_text(
        [
            finding.account_id,
            finding.region,
            finding.repository_name,
            finding.image_digest,
            finding.image_tags,
            finding.finding_id,
            finding.name,
            finding.severity,
            None if finding.cvss_score is None else str(finding.cvss_score),
            finding.package_name,
            finding.installed_version,
            finding.fixed_version,
            finding.status,
            _iso(finding.first_observed_at),
            _iso(finding.last_observed_at),
            finding.reference_url,
        ]
    )


def _decode_finding(text: str) -> Finding:
    (account, region, repository, digest, tags, finding_id, name, severity, score, package, installed,
     fixed, status, first, last, url) = json.loads(text)  # fmt: skip
    return Finding(
        account_id=account,
        region=region,
        repository_name=repository,
        image_digest=digest,
        image_tags=tuple(tags),
        finding_id=finding_id,
        name=name,
        severity=severity,
        cvss_score=None if score is None else Decimal(score),
        package_name=package,
        installed_version=installed,
        fixed_version=fixed,
        status=status,
        first_observed_at=_moment(first),
        last_observed_at=_moment(last),
        reference_url=url,
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _batches(entries: Iterable[Value]) -> Iterator[list[Value]]:
    batch: list[Value] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == SPILL_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


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
