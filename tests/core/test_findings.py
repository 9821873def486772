"""The image_findings report: exact row strings and the age bound's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from ecr_provider.core.columns import FINDING_COLUMNS, FINDINGS_REPORT, REPORTS
from ecr_provider.core.findings import (
    Finding,
    finding_order,
    finding_row,
    images_with_findings,
    within_age,
)
from ecr_provider.core.records import Image

AS_OF = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
DIGEST = "sha256:" + "a" * 64


def test_columns_are_camel_case_headers_with_athena_names():
    assert [column.header for column in FINDING_COLUMNS] == [
        "accountId",
        "region",
        "repositoryName",
        "imageDigest",
        "imageTags",
        "findingId",
        "findingName",
        "severity",
        "cvssScore",
        "packageName",
        "installedVersion",
        "fixedVersion",
        "status",
        "firstObservedAt",
        "lastObservedAt",
        "referenceUrl",
        "asOf",
    ]
    by_name = {column.athena_name: column.athena_type for column in FINDING_COLUMNS}
    assert by_name["cvss_score"] == "string"  # may be empty, which OpenCSVSerde cannot read as a double
    assert by_name["first_observed_at"] == "string"
    assert len(by_name) == len(FINDING_COLUMNS)
    assert REPORTS[FINDINGS_REPORT] is FINDING_COLUMNS  # a Glue table, view and partition like the others


def test_an_inspector_finding_row():
    finding = Finding(
        account_id="111122223333",
        region="eu-west-1",
        repository_name="team-a/api",
        image_digest=DIGEST,
        image_tags=("v1", "latest"),
        finding_id="arn:aws:inspector2:eu-west-1:111122223333:finding/f-1",
        name="CVE-2026-0001",
        severity="CRITICAL",
        cvss_score=Decimal("9.8"),
        package_name="openssl",
        installed_version="1:3.0.11-1~deb12u2",
        fixed_version="1:3.0.13-1~deb12u1",
        status="ACTIVE",
        # Another offset and a naive time: both are written in UTC.
        first_observed_at=datetime(2026, 10, 2, 6, 5, 6, tzinfo=timezone(timedelta(hours=2))),
        last_observed_at=datetime(2026, 11, 26, 23, 59, 59),
        reference_url="https://security-tracker.debian.org/tracker/CVE-2026-0001",
    )

    assert finding_row(finding, AS_OF) == [
        "111122223333",
        "eu-west-1",
        "team-a/api",
        DIGEST,
        '["v1","latest"]',
        "arn:aws:inspector2:eu-west-1:111122223333:finding/f-1",
        "CVE-2026-0001",
        "CRITICAL",
        "9.8",
        "openssl",
        "1:3.0.11-1~deb12u2",
        "1:3.0.13-1~deb12u1",
        "ACTIVE",
        "2026-10-02 04:05:06",
        "2026-11-26 23:59:59",
        "https://security-tracker.debian.org/tracker/CVE-2026-0001",
        "2026-11-27 00:00:00",
    ]


def test_a_basic_finding_row_leaves_what_basic_scanning_lacks_empty():
    finding = Finding(
        account_id="111122223333",
        region="eu-west-1",
        repository_name="team-a/api",
        image_digest=DIGEST,
        image_tags=(),
        finding_id="",
        name="CVE-2019-0001",
        severity="LOW",
        cvss_score=None,
        package_name="zlib",
        installed_version="1:1.2.13",
        fixed_version="",
        status="",
        first_observed_at=None,
        last_observed_at=datetime(2026, 11, 25, 10, 11, 12, tzinfo=UTC),
        reference_url="",
    )

    assert finding_row(finding, AS_OF) == [
        "111122223333",
        "eu-west-1",
        "team-a/api",
        DIGEST,
        "[]",
        "",
        "CVE-2019-0001",
        "LOW",
        "",
        "zlib",
        "1:1.2.13",
        "",
        "",
        "",
        "2026-11-25 10:11:12",
        "",
        "2026-11-27 00:00:00",
    ]


def image(pushed: datetime | None, pulled: datetime | None) -> Image:
    detail: dict[str, Any] = {"repositoryName": "team-a/api", "imageDigest": DIGEST}
    if pushed is not None:
        detail["imagePushedAt"] = pushed
    if pulled is not None:
        detail["lastRecordedPullTime"] = pulled
    return Image.from_api(detail)


BOUNDARY = AS_OF - timedelta(days=30)
JUST_OUTSIDE = BOUNDARY - timedelta(seconds=1)
LONG_AGO = AS_OF - timedelta(days=400)


@pytest.mark.parametrize(
    ("pushed", "pulled", "expected"),
    [
        (BOUNDARY, None, True),
        (JUST_OUTSIDE, None, False),
        (LONG_AGO, BOUNDARY, True),
        (LONG_AGO, JUST_OUTSIDE, False),
        (None, None, False),
        (AS_OF + timedelta(minutes=1), None, True),
        (BOUNDARY.replace(tzinfo=None), None, True),
        (BOUNDARY.astimezone(timezone(timedelta(hours=-5))), None, True),
    ],
    ids=[
        "pushed-exactly-30-days-before",
        "pushed-a-second-earlier",
        "old-but-pulled-exactly-30-days-before",
        "old-and-pulled-a-second-too-early",
        "never-pushed-time-nor-pulled",
        "pushed-after-as-of",
        "naive-time-is-utc",
        "other-offset",
    ],
)
def test_within_age_boundaries(pushed, pulled, expected):
    assert within_age(image(pushed, pulled), AS_OF, 30) is expected


def test_zero_days_keeps_only_images_touched_at_or_after_as_of():
    assert within_age(image(AS_OF, None), AS_OF, 0) is True
    assert within_age(image(AS_OF - timedelta(seconds=1), None), AS_OF, 0) is False


def test_a_negative_age_is_refused():
    with pytest.raises(ValueError, match="findings_max_age_days must be 0 or more, got -1"):
        within_age(image(AS_OF, None), AS_OF, -1)


def scanned(repository: str, digest: str, counts: dict[str, int] | None, pushed: datetime, tags=()) -> Image:
    detail: dict[str, Any] = {
        "repositoryName": repository,
        "imageDigest": digest,
        "imageTags": list(tags),
        "imagePushedAt": pushed,
    }
    if counts is not None:
        detail["imageScanFindingsSummary"] = {"imageScanCompletedAt": pushed, "findingSeverityCounts": counts}
    return Image.from_api(detail)


def test_only_recent_images_whose_counts_show_findings_are_asked_for():
    recent = AS_OF - timedelta(days=3)
    images = [
        scanned("team-a/api", "sha256:1", {"HIGH": 2}, recent, tags=("v2", "latest")),
        scanned("team-a/api", "sha256:2", {}, recent),  # a clean scan: nothing to list
        scanned("team-a/api", "sha256:3", None, recent),  # never scanned
        scanned("team-a/api", "sha256:4", {"CRITICAL": 1}, LONG_AGO),  # out of the age bound
        scanned("team-b/web", "sha256:5", {"INFORMATIONAL": 1}, BOUNDARY),
    ]

    assert images_with_findings(images, AS_OF, 30) == {
        ("team-a/api", "sha256:1"): ("v2", "latest"),
        ("team-b/web", "sha256:5"): (),
    }


def finding(repository: str, digest: str, severity: str, name: str, package: str = "openssl") -> Finding:
    return Finding(
        account_id="111122223333",
        region="eu-west-1",
        repository_name=repository,
        image_digest=digest,
        image_tags=(),
        finding_id="",
        name=name,
        severity=severity,
        cvss_score=None,
        package_name=package,
        installed_version="1.0",
        fixed_version="",
        status="",
        first_observed_at=None,
        last_observed_at=None,
        reference_url="",
    )


def test_findings_are_ordered_by_image_then_most_severe_then_name():
    unordered = [
        finding("team-b/web", "sha256:1", "CRITICAL", "CVE-1"),
        finding("team-a/api", "sha256:2", "LOW", "CVE-9"),
        finding("team-a/api", "sha256:2", "UNDEFINED", "CVE-0"),
        finding("team-a/api", "sha256:1", "MEDIUM", "CVE-5"),
        finding("team-a/api", "sha256:2", "CRITICAL", "CVE-7", package="zlib"),
        finding("team-a/api", "sha256:2", "CRITICAL", "CVE-7", package="curl"),
        finding("team-a/api", "sha256:2", "NEWLY-INVENTED", "CVE-3"),
    ]

    ordered = sorted(unordered, key=finding_order)

    assert [(f.repository_name, f.image_digest, f.severity, f.name, f.package_name) for f in ordered] == [
        ("team-a/api", "sha256:1", "MEDIUM", "CVE-5", "openssl"),
        ("team-a/api", "sha256:2", "CRITICAL", "CVE-7", "curl"),
        ("team-a/api", "sha256:2", "CRITICAL", "CVE-7", "zlib"),
        ("team-a/api", "sha256:2", "LOW", "CVE-9", "openssl"),
        ("team-a/api", "sha256:2", "UNDEFINED", "CVE-0", "openssl"),
        ("team-a/api", "sha256:2", "NEWLY-INVENTED", "CVE-3", "openssl"),
        ("team-b/web", "sha256:1", "CRITICAL", "CVE-1", "openssl"),
    ]
