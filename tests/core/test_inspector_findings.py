"""Inspector's entries in the project's terms: a ListFindings entry as a Finding, SeverityCounts in
ECR's keys, an image resource id as (repository, digest)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ecr_provider.core.findings import Finding
from ecr_provider.core.inspector_findings import ecr_severity_counts, image_key, inspector_finding

ACCOUNT = "111122223333"
REGION = "eu-west-1"
DIGEST = "sha256:" + "a" * 64
RESOURCE_ID = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team-a/api/{DIGEST}"
FIRST_SEEN = datetime(2026, 10, 2, 6, 5, 6, tzinfo=UTC)
LAST_SEEN = datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)


def entry(resources: list[dict[str, Any]], details: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "findingArn": f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/f-1",
        "awsAccountId": ACCOUNT,
        "title": "CVE-2026-0003 - glibc",
        "severity": "HIGH",
        "status": "ACTIVE",
        "firstObservedAt": FIRST_SEEN,
        "lastObservedAt": LAST_SEEN,
        "resources": resources,
        "packageVulnerabilityDetails": details,
        **fields,
    }


IMAGE = {
    "type": "AWS_ECR_CONTAINER_IMAGE",
    "id": RESOURCE_ID,
    "details": {"awsEcrContainerImage": {"repositoryName": "team-a/api", "imageHash": DIGEST}},
}


def test_a_list_findings_entry_becomes_a_finding() -> None:
    details = {
        "referenceUrls": ["https://example.com/first", "https://example.com/second"],
        "cvss": [
            {"baseScore": 7.5, "version": "3.1", "source": "NVD"},
            {"baseScore": 6.8, "version": "2.0", "source": "NVD"},
            {"baseScore": 7.0, "version": "3.1", "source": "DEBIAN"},
        ],
        "vulnerablePackages": [
            {
                "name": "libc6",
                "version": "2.36",
                "epoch": 0,
                "release": "9+deb12u3",
                "fixedInVersion": "2.36-9+deb12u4",
            },
            {"name": "libc-bin", "version": "2.36", "fixedInVersion": "NotAvailable"},
        ],
    }
    ec2 = {"type": "AWS_EC2_INSTANCE", "id": "i-0123456789abcdef0", "details": {}}

    finding = inspector_finding(entry([ec2, IMAGE], details, severity="UNTRIAGED"), REGION)

    assert finding == Finding(
        account_id=ACCOUNT,
        region=REGION,
        repository_name="team-a/api",
        image_digest=DIGEST,
        image_tags=(),
        finding_id=f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/f-1",
        name="CVE-2026-0003 - glibc",
        severity="UNDEFINED",
        cvss_score=Decimal("7.5"),
        package_name="libc6, libc-bin",
        installed_version="2.36-9+deb12u3, 2.36",
        fixed_version="2.36-9+deb12u4, ",
        status="ACTIVE",
        first_observed_at=FIRST_SEEN,
        last_observed_at=LAST_SEEN,
        reference_url="https://example.com/first",
    )


def test_inspectors_own_score_comes_before_the_cvss_scores() -> None:
    details = {"vulnerabilityId": "CVE-2026-0003", "cvss": [{"baseScore": 7.5, "version": "3.1"}]}
    finding = inspector_finding(entry([IMAGE], details, inspectorScore=5.9), REGION)
    assert finding is not None
    assert (finding.name, finding.cvss_score) == ("CVE-2026-0003", Decimal("5.9"))


def test_an_entry_naming_no_ecr_image_is_none() -> None:
    lambda_function = {"type": "AWS_LAMBDA_FUNCTION", "id": "arn:aws:lambda:eu-west-1:1:function:f"}
    assert inspector_finding(entry([lambda_function], {}), REGION) is None


def test_severity_mapping_keeps_inspectors_total() -> None:
    assert ecr_severity_counts({"all": 0}) == {}
    assert ecr_severity_counts({"all": 3, "critical": 3}) == {"CRITICAL": 3}
    assert ecr_severity_counts({"all": 6, "high": 1, "untriaged": 2}) == {"HIGH": 1, "UNDEFINED": 5}


def test_image_resource_ids_are_split_into_repository_and_digest() -> None:
    nested = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team-a/api/v2/{DIGEST}"
    assert image_key(nested) == ("team-a/api/v2", DIGEST)
    with pytest.raises(ValueError, match="not an ECR image resource id"):
        image_key(f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team-a/api")
