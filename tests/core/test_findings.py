"""The image_findings report: exact row strings and the age bound's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from ecr_provider.core.findings import FINDING_COLUMNS, Finding, finding_row, within_age
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
