"""Enhanced scanning through Amazon Inspector, and basic-scan findings (botocore Stubber, real models).

The Stubber checks every request and response against the real ``ecr`` and ``inspector2`` models,
so each call below is one the real APIs accept. Expected values are written out by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.inspector import (
    EnhancedScan,
    RegistryFindings,
    basic_image_findings,
    enhanced_severity_counts,
    image_findings,
    registry_image_scans,
)
from ecr_provider.core.findings import Finding
from ecr_provider.core.records import Image

ACCOUNT = "111122223333"
REGION = "eu-west-1"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_C = "sha256:" + "c" * 64
DIGEST_D = "sha256:" + "d" * 64
DIGEST_E = "sha256:" + "e" * 64
DIGEST_F = "sha256:" + "f" * 64
DIGEST_G = "sha256:" + "9" * 64
SCANNED_A = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
SCANNED_B = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
SCANNED_D = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ACCOUNT_FILTER = [{"comparison": "EQUALS", "value": ACCOUNT}]


def resource_id(repository: str, digest: str) -> str:
    return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}/{digest}"


def make_client(service: str, region: str = REGION) -> Any:
    return boto3.client(
        service, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    client = make_client("ecr")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def inspector() -> Iterator[tuple[Any, Stubber]]:
    client = make_client("inspector2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def scanning_configuration(scan_type: str) -> dict[str, Any]:
    frequency = "CONTINUOUS_SCAN" if scan_type == "ENHANCED" else "SCAN_ON_PUSH"
    return {
        "registryId": ACCOUNT,
        "scanningConfiguration": {
            "scanType": scan_type,
            "rules": [
                {
                    "scanFrequency": frequency,
                    "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}],
                }
            ],
        },
    }


def covered(repository: str, digest: str, code: str, reason: str, scanned: datetime | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AWS_ECR_CONTAINER_IMAGE",
        "resourceId": resource_id(repository, digest),
        "accountId": ACCOUNT,
        "scanType": "PACKAGE",
        "scanStatus": {"statusCode": code, "reason": reason},
        "resourceMetadata": {
            "ecrRepository": {"name": repository, "scanFrequency": "CONTINUOUS_SCAN"},
            "ecrImage": {"tags": ["latest"]},
        },
    }
    if scanned is not None:
        resource["lastScannedAt"] = scanned
    return resource


def aggregated(repository: str, digest: str, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "awsEcrContainerAggregation": {
            "resourceId": resource_id(repository, digest),
            "imageSha": digest,
            "repository": repository,
            "architecture": "amd64",
            "imageTags": ["v1"],
            "accountId": ACCOUNT,
            "severityCounts": counts,
        }
    }


def aggregation_params(next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "aggregationType": "AWS_ECR_CONTAINER",
        "accountIds": ACCOUNT_FILTER,
        "maxResults": 100,
    }
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def add_aggregation_pages(stubber: Stubber) -> None:
    """Page 1: an image of team-a and one of a repository not reported; page 2: two more."""
    stubber.add_response(
        "list_finding_aggregations",
        {
            "aggregationType": "AWS_ECR_CONTAINER",
            "responses": [
                aggregated(
                    "team-a/api",
                    DIGEST_A,
                    {
                        "all": 7,
                        "critical": 1,
                        "high": 2,
                        "medium": 3,
                        "low": 1,
                        "informational": 0,
                        "untriaged": 0,
                    },
                ),
                aggregated("other/tool", DIGEST_E, {"all": 4, "critical": 4, "high": 0, "medium": 0}),
            ],
            "nextToken": "page-2",
        },
        aggregation_params(),
    )
    stubber.add_response(
        "list_finding_aggregations",
        {
            "aggregationType": "AWS_ECR_CONTAINER",
            "responses": [
                # A response of the documented shape: no low, informational or untriaged.
                aggregated("team-b/web", DIGEST_F, {"all": 5, "critical": 0, "high": 1, "medium": 2}),
                aggregated(
                    "team-a/api",
                    DIGEST_G,
                    {
                        "all": 3,
                        "critical": 0,
                        "high": 0,
                        "medium": 0,
                        "low": 0,
                        "informational": 1,
                        "untriaged": 2,
                    },
                ),
            ],
        },
        aggregation_params("page-2"),
    )


def add_coverage_page(stubber: Stubber) -> None:
    stubber.add_response(
        "list_coverage",
        {
            "coveredResources": [
                covered("team-a/api", DIGEST_A, "ACTIVE", "SUCCESSFUL", SCANNED_A),
                covered("team-a/api", DIGEST_B, "ACTIVE", "SUCCESSFUL", SCANNED_B),
                covered("team-b/web", DIGEST_C, "ACTIVE", "PENDING_INITIAL_SCAN", None),
                covered("team-b/web", DIGEST_D, "INACTIVE", "SCAN_ELIGIBILITY_EXPIRED", SCANNED_D),
                covered("team-a/api", DIGEST_G, "ACTIVE", "SCAN_FREQUENCY_SCAN_ON_PUSH", SCANNED_B),
                covered("other/tool", DIGEST_E, "ACTIVE", "SUCCESSFUL", SCANNED_A),
            ]
        },
        {
            "filterCriteria": {
                "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
                "accountId": ACCOUNT_FILTER,
            },
            "maxResults": 200,
        },
    )


def image(repository: str, digest: str, **extra: Any) -> Image:
    """A DescribeImages entry of an enhanced-scanning registry: no findings summary, no scan status."""
    return Image.from_api(
        {
            "registryId": ACCOUNT,
            "repositoryName": repository,
            "imageDigest": digest,
            "imageTags": ["v1"],
            "imageSizeInBytes": 1000,
            "imagePushedAt": datetime(2026, 11, 1, tzinfo=UTC),
            **extra,
        }
    )


def test_enhanced_registry_gets_status_and_counts_from_inspector(ecr, inspector):
    ecr_client, ecr_stubber = ecr
    inspector_client, inspector_stubber = inspector
    ecr_stubber.add_response("get_registry_scanning_configuration", scanning_configuration("ENHANCED"), {})
    add_coverage_page(inspector_stubber)
    add_aggregation_pages(inspector_stubber)

    scans = registry_image_scans(ecr_client, inspector_client, ACCOUNT, REGION, ["team-a/api", "team-b/web"])

    assert scans.scan_type == "ENHANCED"
    assert scans.images == {
        ("team-a/api", DIGEST_A): EnhancedScan(
            "SUCCESSFUL", SCANNED_A, {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 3, "LOW": 1}
        ),
        # Scanned, and not in the aggregation: no findings, which is not the same as unknown.
        ("team-a/api", DIGEST_B): EnhancedScan("SUCCESSFUL", SCANNED_B, {}),
        ("team-b/web", DIGEST_C): EnhancedScan("PENDING_INITIAL_SCAN", None, None),
        # Inspector closed its findings when the scan duration lapsed: unknown now, not none.
        ("team-b/web", DIGEST_D): EnhancedScan("SCAN_ELIGIBILITY_EXPIRED", SCANNED_D, None),
        ("team-a/api", DIGEST_G): EnhancedScan(
            "SCAN_FREQUENCY_SCAN_ON_PUSH", SCANNED_B, {"INFORMATIONAL": 1, "UNDEFINED": 2}
        ),
        # Aggregated but not (yet) in the coverage list; 5 - 1 - 2 = 2 findings of no given severity.
        ("team-b/web", DIGEST_F): EnhancedScan("", None, {"HIGH": 1, "MEDIUM": 2, "UNDEFINED": 2}),
    }

    applied = scans.apply(image("team-a/api", DIGEST_A))
    assert (applied.scan_status, applied.scan_completed_at, applied.severity_counts) == (
        "SUCCESSFUL",
        SCANNED_A,
        {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 3, "LOW": 1},
    )
    assert applied.size_bytes == 1000
    uncovered = image("team-b/web", "sha256:" + "0" * 64)
    assert scans.apply(uncovered) is uncovered


def test_basic_registry_is_unchanged_and_inspector_is_not_called(ecr, inspector):
    ecr_client, ecr_stubber = ecr
    inspector_client, _ = inspector  # nothing queued: any Inspector call would fail the test
    ecr_stubber.add_response("get_registry_scanning_configuration", scanning_configuration("BASIC"), {})
    summary = {
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindingsSummary": {
            "imageScanCompletedAt": SCANNED_A,
            "findingSeverityCounts": {"HIGH": 2, "LOW": 5},
        },
    }
    basic = image("team-a/api", DIGEST_A, **summary)

    scans = registry_image_scans(ecr_client, inspector_client, ACCOUNT, REGION)

    assert scans.scan_type == "BASIC"
    assert scans.images == {}
    assert scans.apply(basic) is basic
    assert (basic.scan_status, basic.severity_counts) == ("COMPLETE", {"HIGH": 2, "LOW": 5})


def test_aggregation_counts_for_a_whole_registry_over_two_pages(inspector):
    client, stubber = inspector
    add_aggregation_pages(stubber)

    assert dict(enhanced_severity_counts(client, ACCOUNT, REGION, None)) == {
        ("team-a/api", DIGEST_A): {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 3, "LOW": 1},
        ("other/tool", DIGEST_E): {"CRITICAL": 4},
        ("team-b/web", DIGEST_F): {"HIGH": 1, "MEDIUM": 2, "UNDEFINED": 2},
        ("team-a/api", DIGEST_G): {"INFORMATIONAL": 1, "UNDEFINED": 2},
    }


def test_an_inspector_client_of_another_region_is_refused():
    client = make_client("inspector2", "us-east-1")
    with pytest.raises(ValueError, match="us-east-1, not the registry's eu-west-1"):
        enhanced_severity_counts(client, ACCOUNT, REGION, None)


def test_inspector_errors_name_the_denied_action(inspector):
    client, stubber = inspector
    stubber.add_client_error(
        "list_finding_aggregations", "AccessDeniedException", "not authorized", http_status_code=403
    )
    with pytest.raises(
        AwsCallError, match=r"inspector2:ListFindingAggregations failed with AccessDeniedException"
    ):
        dict(enhanced_severity_counts(client, ACCOUNT, REGION, None))


FIRST_SEEN = datetime(2026, 10, 2, 4, 5, 6, tzinfo=UTC)
LAST_SEEN = datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)


def finding_entry(
    arn_suffix: str,
    repository: str,
    digest: str,
    severity: str,
    status: str,
    details: dict[str, Any],
    score: float | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "findingArn": f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/{arn_suffix}",
        "awsAccountId": ACCOUNT,
        "type": "PACKAGE_VULNERABILITY",
        "description": "A vulnerability.",
        "title": f"{details['vulnerabilityId']} - title",
        "remediation": {"recommendation": {"text": "Upgrade the package."}},
        "severity": severity,
        "firstObservedAt": FIRST_SEEN,
        "lastObservedAt": LAST_SEEN,
        "status": status,
        "resources": [
            {
                "type": "AWS_ECR_CONTAINER_IMAGE",
                "id": resource_id(repository, digest),
                "partition": "aws",
                "region": REGION,
                "details": {
                    "awsEcrContainerImage": {
                        "repositoryName": repository,
                        "imageHash": digest,
                        "registry": ACCOUNT,
                        "imageTags": ["v1", "latest"],
                        "pushedAt": datetime(2026, 11, 1, tzinfo=UTC),
                    }
                },
            }
        ],
        "packageVulnerabilityDetails": details,
    }
    if score is not None:
        entry["inspectorScore"] = score
    return entry


def findings_params(next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "filterCriteria": {
            "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
            "awsAccountId": ACCOUNT_FILTER,
            "findingStatus": [{"comparison": "NOT_EQUALS", "value": "CLOSED"}],
        },
        "maxResults": 100,
    }
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def test_list_findings_pages_are_parsed_and_bounded_to_the_given_images(inspector):
    client, stubber = inspector
    openssl = {
        "vulnerabilityId": "CVE-2026-0001",
        "source": "DEBIAN_CVE",
        "sourceUrl": "https://security-tracker.debian.org/tracker/CVE-2026-0001",
        "referenceUrls": ["https://www.openssl.org/news/secadv/20260101.txt"],
        "cvss": [{"baseScore": 9.8, "scoringVector": "CVSS:3.1/AV:N", "version": "3.1", "source": "NVD"}],
        "vulnerablePackages": [
            {
                "name": "openssl",
                "version": "3.0.11",
                "epoch": 1,
                "release": "1~deb12u2",
                "packageManager": "OS",
                "fixedInVersion": "1:3.0.13-1~deb12u1",
            }
        ],
    }
    zlib = {"vulnerabilityId": "CVE-2026-0002", "source": "NVD", "vulnerablePackages": []}
    requests = {
        "vulnerabilityId": "GHSA-xxxx-yyyy-zzzz",
        "source": "GITHUB",
        "referenceUrls": ["https://github.com/advisories/GHSA-xxxx-yyyy-zzzz", "https://example.com/2"],
        "cvss": [
            {"baseScore": 5.0, "scoringVector": "AV:N/AC:L/Au:N", "version": "2.0", "source": "NVD"},
            {"baseScore": 6.1, "scoringVector": "CVSS:3.1/AV:N", "version": "3.1", "source": "NVD"},
            {"baseScore": 5.4, "scoringVector": "CVSS:3.0/AV:N", "version": "3.0", "source": "GITHUB"},
        ],
        "vulnerablePackages": [
            {"name": "requests", "version": "2.31.0", "packageManager": "PIP", "fixedInVersion": "2.32.0"},
            {
                "name": "urllib3",
                "version": "1.26.5",
                "packageManager": "PIP",
                "fixedInVersion": "NotAvailable",
            },
        ],
    }
    stubber.add_response(
        "list_findings",
        {
            "findings": [
                finding_entry("f-1", "team-a/api", DIGEST_A, "CRITICAL", "ACTIVE", openssl, score=9.1),
                finding_entry("f-2", "team-a/api", DIGEST_B, "LOW", "ACTIVE", zlib),
            ],
            "nextToken": "findings-2",
        },
        findings_params(),
    )
    stubber.add_response(
        "list_findings",
        {"findings": [finding_entry("f-3", "team-b/web", DIGEST_C, "UNTRIAGED", "SUPPRESSED", requests)]},
        findings_params("findings-2"),
    )
    in_age = {("team-a/api", DIGEST_A), ("team-b/web", DIGEST_C)}

    findings = list(image_findings(client, ACCOUNT, REGION, images=in_age))

    assert findings == [
        Finding(
            account_id=ACCOUNT,
            region=REGION,
            repository_name="team-a/api",
            image_digest=DIGEST_A,
            image_tags=("v1", "latest"),
            finding_id=f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/f-1",
            name="CVE-2026-0001",
            severity="CRITICAL",
            cvss_score=Decimal("9.1"),
            package_name="openssl",
            installed_version="1:3.0.11-1~deb12u2",
            fixed_version="1:3.0.13-1~deb12u1",
            status="ACTIVE",
            first_observed_at=FIRST_SEEN,
            last_observed_at=LAST_SEEN,
            reference_url="https://security-tracker.debian.org/tracker/CVE-2026-0001",
        ),
        Finding(
            account_id=ACCOUNT,
            region=REGION,
            repository_name="team-b/web",
            image_digest=DIGEST_C,
            image_tags=("v1", "latest"),
            finding_id=f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/f-3",
            name="GHSA-xxxx-yyyy-zzzz",
            severity="UNDEFINED",
            cvss_score=Decimal("6.1"),
            package_name="requests, urllib3",
            installed_version="2.31.0, 1.26.5",
            fixed_version="2.32.0, ",
            status="SUPPRESSED",
            first_observed_at=FIRST_SEEN,
            last_observed_at=LAST_SEEN,
            reference_url="https://github.com/advisories/GHSA-xxxx-yyyy-zzzz",
        ),
    ]


def test_without_an_image_bound_every_finding_is_streamed(inspector):
    client, stubber = inspector
    zlib = {"vulnerabilityId": "CVE-2026-0002", "source": "NVD"}
    stubber.add_response(
        "list_findings",
        {"findings": [finding_entry("f-2", "team-a/api", DIGEST_B, "LOW", "ACTIVE", zlib)]},
        findings_params(),
    )

    (finding,) = image_findings(client, ACCOUNT, REGION)

    assert (finding.name, finding.cvss_score, finding.package_name, finding.fixed_version) == (
        "CVE-2026-0002",
        None,
        "",
        "",
    )
    assert finding.reference_url == ""


def scan_findings_params(next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "repositoryName": "team-a/api",
        "imageId": {"imageDigest": DIGEST_A},
        "maxResults": 1000,
    }
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def test_basic_scan_findings_of_one_image_over_two_pages(ecr):
    client, stubber = ecr
    completed = datetime(2026, 11, 25, 10, 11, 12, tzinfo=UTC)
    common = {
        "registryId": ACCOUNT,
        "repositoryName": "team-a/api",
        "imageId": {"imageDigest": DIGEST_A},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
    }
    stubber.add_response(
        "describe_image_scan_findings",
        {
            **common,
            "imageScanFindings": {
                "imageScanCompletedAt": completed,
                "findingSeverityCounts": {"HIGH": 1, "LOW": 1},
                "findings": [
                    {
                        "name": "CVE-2026-1000",
                        "uri": "https://security-tracker.debian.org/tracker/CVE-2026-1000",
                        "severity": "HIGH",
                        "attributes": [
                            {"key": "package_version", "value": "2.36-9+deb12u4"},
                            {"key": "package_name", "value": "glibc"},
                            {"key": "CVSS3_SCORE", "value": "7.8"},
                            {"key": "CVSS2_SCORE", "value": "6.8"},
                        ],
                    }
                ],
            },
            "nextToken": "scan-page-2",
        },
        scan_findings_params(),
    )
    stubber.add_response(
        "describe_image_scan_findings",
        {
            **common,
            "imageScanFindings": {
                "imageScanCompletedAt": completed,
                "findings": [
                    {
                        "name": "CVE-2019-0001",
                        "severity": "LOW",
                        "attributes": [
                            {"key": "package_name", "value": "zlib"},
                            {"key": "package_version", "value": "1:1.2.13"},
                            {"key": "CVSS2_SCORE", "value": "4.3"},
                        ],
                    }
                ],
            },
        },
        scan_findings_params("scan-page-2"),
    )

    findings = list(basic_image_findings(client, "team-a/api", DIGEST_A, ["v1"]))

    shared: dict[str, Any] = {
        "account_id": ACCOUNT,
        "region": REGION,
        "repository_name": "team-a/api",
        "image_digest": DIGEST_A,
        "image_tags": ("v1",),
        "finding_id": "",
        "fixed_version": "",
        "status": "",
        "first_observed_at": None,
        "last_observed_at": completed,
    }
    assert findings == [
        Finding(
            name="CVE-2026-1000",
            severity="HIGH",
            cvss_score=Decimal("7.8"),
            package_name="glibc",
            installed_version="2.36-9+deb12u4",
            reference_url="https://security-tracker.debian.org/tracker/CVE-2026-1000",
            **shared,
        ),
        Finding(
            name="CVE-2019-0001",
            severity="LOW",
            cvss_score=Decimal("4.3"),
            package_name="zlib",
            installed_version="1:1.2.13",
            reference_url="",
            **shared,
        ),
    ]


def test_an_image_never_scanned_has_no_basic_findings(ecr):
    client, stubber = ecr
    stubber.add_client_error(
        "describe_image_scan_findings",
        "ScanNotFoundException",
        "no scan",
        expected_params=scan_findings_params(),
    )

    assert list(basic_image_findings(client, "team-a/api", DIGEST_A, [])) == []


def test_other_basic_scan_errors_name_the_action_and_image(ecr):
    client, stubber = ecr
    stubber.add_client_error("describe_image_scan_findings", "AccessDeniedException", "denied", 400)

    with pytest.raises(AwsCallError, match=r"ecr:DescribeImageScanFindings on team-a/api@sha256:a+ failed"):
        list(basic_image_findings(client, "team-a/api", DIGEST_A, []))


def registry_findings(scan_type: str, ecr_client: Any, inspector_client: Any) -> RegistryFindings:
    return RegistryFindings(
        scan_type=scan_type,
        ecr_client=ecr_client,
        inspector2_client=inspector_client,
        account_id=ACCOUNT,
        region=REGION,
        max_age_days=30,
        max_concurrency=1,  # the Stubber answers in a fixed order
    )


def test_enhanced_findings_of_the_given_images_in_report_order_with_ecrs_tags(ecr, inspector):
    ecr_client, _ = ecr
    client, stubber = inspector
    cve = {"vulnerabilityId": "CVE-2026-0003", "source": "NVD"}
    stubber.add_response(
        "list_findings",
        {
            "findings": [
                finding_entry("f-1", "team-b/web", DIGEST_C, "HIGH", "ACTIVE", cve),
                finding_entry("f-2", "team-a/api", DIGEST_A, "LOW", "ACTIVE", cve),
                finding_entry("f-3", "team-a/api", DIGEST_B, "CRITICAL", "ACTIVE", cve),
                finding_entry("f-4", "team-a/api", DIGEST_A, "CRITICAL", "ACTIVE", cve),
            ]
        },
        findings_params(),
    )
    wanted = {("team-a/api", DIGEST_A): ("prod", "v2"), ("team-b/web", DIGEST_C): ()}

    findings = list(registry_findings("ENHANCED", ecr_client, client).read(wanted))

    assert [(f.repository_name, f.image_digest, f.severity, f.finding_id[-3:]) for f in findings] == [
        ("team-a/api", DIGEST_A, "CRITICAL", "f-4"),
        ("team-a/api", DIGEST_A, "LOW", "f-2"),
        ("team-b/web", DIGEST_C, "HIGH", "f-1"),
    ]
    assert [f.image_tags for f in findings] == [("prod", "v2"), ("prod", "v2"), ()]


def test_basic_findings_one_call_per_image_in_report_order(ecr, inspector):
    client, stubber = ecr
    inspector_client, _ = inspector
    completed = datetime(2026, 11, 25, tzinfo=UTC)

    def scan_page(repository: str, digest: str, *findings: tuple[str, str]) -> dict[str, Any]:
        return {
            "registryId": ACCOUNT,
            "repositoryName": repository,
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": "COMPLETE"},
            "imageScanFindings": {
                "imageScanCompletedAt": completed,
                "findings": [{"name": name, "severity": severity} for name, severity in findings],
            },
        }

    def params(repository: str, digest: str) -> dict[str, Any]:
        return {"repositoryName": repository, "imageId": {"imageDigest": digest}, "maxResults": 1000}

    stubber.add_response(
        "describe_image_scan_findings",
        scan_page("team-a/api", DIGEST_B, ("CVE-2026-0200", "LOW"), ("CVE-2026-0100", "HIGH")),
        params("team-a/api", DIGEST_B),
    )
    stubber.add_client_error(
        "describe_image_scan_findings",
        "ImageNotFoundException",
        "deleted since it was listed",
        expected_params=params("team-b/web", DIGEST_A),
    )
    stubber.add_response(
        "describe_image_scan_findings",
        scan_page("team-b/web", DIGEST_C, ("CVE-2026-0300", "MEDIUM")),
        params("team-b/web", DIGEST_C),
    )
    wanted = {
        ("team-b/web", DIGEST_C): ("v1",),
        ("team-a/api", DIGEST_B): (),
        ("team-b/web", DIGEST_A): ("gone",),
    }

    findings = list(registry_findings("BASIC", client, inspector_client).read(wanted))

    assert [(f.repository_name, f.name, f.severity, f.image_tags) for f in findings] == [
        ("team-a/api", "CVE-2026-0100", "HIGH", ()),
        ("team-a/api", "CVE-2026-0200", "LOW", ()),
        ("team-b/web", "CVE-2026-0300", "MEDIUM", ("v1",)),
    ]


@pytest.mark.parametrize("scan_type", ["BASIC", "ENHANCED"])
def test_no_image_with_findings_means_no_call(ecr, inspector, scan_type):
    # A call would find no stubbed response and fail.
    assert list(registry_findings(scan_type, ecr[0], inspector[0]).read({})) == []
