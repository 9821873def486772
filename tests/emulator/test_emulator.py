"""The emulator answers like ECR with the demo registry's seeded values, as the readers will see them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ecr_provider.core.records import Image, Repository
from ecr_provider.core.units import GB, MB
from emulator import moto_ecr_gaps
from emulator.demo_registry import OCI_INDEX, DemoRegistry, plan_demo_registry, seed_demo_registry
from emulator.destination import ReportDestination, create_report_destination, receive_notifications
from emulator.server import ACCOUNT_ID, READY_MARKER, Emulator, client

if TYPE_CHECKING:
    from emulator.demo_registry import SeededImage

pytestmark = pytest.mark.integration

REGION = "us-east-1"
AS_OF = datetime(2025, 6, 1, 6, 30, tzinfo=UTC)
IMAGE_FIELDS = (
    "repository_name",
    "digest",
    "tags",
    "pushed_at",
    "size_bytes",
    "manifest_media_type",
    "artifact_media_type",
    "status",
    "scan_status",
    "scan_completed_at",
    "severity_counts",
    "last_pull",
    "last_archived_at",
    "last_activated_at",
    "subject_manifest_digest",
)


@pytest.fixture(scope="module")
def registry(emulator: Emulator) -> DemoRegistry:
    return seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)


@pytest.fixture(scope="module")
def destination(emulator: Emulator) -> ReportDestination:
    return create_report_destination(emulator.endpoint_url, REGION)


@pytest.fixture(scope="module")
def ecr(emulator: Emulator) -> Any:
    return client("ecr", emulator.endpoint_url, REGION)


@pytest.fixture(scope="module")
def details(registry: DemoRegistry, ecr: Any) -> dict[str, dict[str, Any]]:
    """Every ImageDetail of the registry, archived included, by digest."""
    paginator = ecr.get_paginator("describe_images")
    return {
        detail["imageDigest"]: detail
        for repository in registry.repositories
        for page in paginator.paginate(repositoryName=repository.name, filter={"imageStatus": "ANY"})
        for detail in page["imageDetails"]
    }


def seeded_where(registry: DemoRegistry, **wanted: Any) -> list[SeededImage]:
    return [
        image
        for image in registry.images
        if all(getattr(image, name) == value for name, value in wanted.items())
    ]


def test_describe_repositories_parses_to_the_seeded_repositories(registry: DemoRegistry, ecr: Any) -> None:
    pages = ecr.get_paginator("describe_repositories").paginate()
    parsed = {
        repository.name: repository
        for page in pages
        for repository in map(Repository.from_api, page["repositories"])
    }

    assert len(parsed) == len(registry.repositories)
    for seeded in registry.repositories:
        repository = parsed[seeded.name]
        assert (repository.account_id, repository.region) == (ACCOUNT_ID, REGION)
        assert repository.created_at == seeded.created_at
        assert repository.scan_on_push is seeded.scan_on_push
        assert repository.tag_mutability == seeded.tag_mutability


def test_every_seeded_image_parses_to_its_seeded_values(
    registry: DemoRegistry, details: dict[str, dict[str, Any]]
) -> None:
    assert len(details) == len(registry.images)
    for seeded in registry.images:
        image = Image.from_api(details[seeded.digest])
        assert {name: getattr(image, name) for name in IMAGE_FIELDS} == {
            name: getattr(seeded, name) for name in IMAGE_FIELDS
        }


def test_filled_fields_come_back_in_ecr_wire_form(
    registry: DemoRegistry, details: dict[str, dict[str, Any]]
) -> None:
    archived = seeded_where(registry, status="ARCHIVED")[0]
    assert details[archived.digest]["imageStatus"] == "ARCHIVED"
    assert details[archived.digest]["lastArchivedAt"] == archived.last_archived_at

    untagged = seeded_where(registry, tags=())[0]
    assert "imageTags" not in details[untagged.digest]

    clean = seeded_where(registry, severity_counts={})[0]
    assert details[clean.digest]["imageScanFindingsSummary"]["findingSeverityCounts"] == {}

    never_scanned = seeded_where(registry, scan_status="")[0]
    assert "imageScanStatus" not in details[never_scanned.digest]
    assert "imageScanFindingsSummary" not in details[never_scanned.digest]

    never_pulled = seeded_where(registry, last_pull=None)[0]
    assert "lastRecordedPullTime" not in details[never_pulled.digest]

    failed = seeded_where(registry, scan_status="FAILED")[0]
    assert details[failed.digest]["imageScanStatus"]["status"] == "FAILED"
    assert "imageScanFindingsSummary" not in details[failed.digest]


def test_an_index_reports_its_largest_child_and_its_children_are_images(
    registry: DemoRegistry, details: dict[str, dict[str, Any]]
) -> None:
    index = seeded_where(registry, manifest_media_type=OCI_INDEX)[0]
    children = [details[digest] for digest in index.child_digests]

    assert len(children) == 2
    assert details[index.digest]["imageSizeInBytes"] == max(child["imageSizeInBytes"] for child in children)
    assert all("imageTags" not in child for child in children)


def test_without_a_status_filter_archived_images_are_hidden_as_in_ecr(
    registry: DemoRegistry, ecr: Any
) -> None:
    repository = registry.repository("legacy/monolith")
    listed = {
        detail["imageDigest"]
        for detail in ecr.describe_images(repositoryName=repository.name)["imageDetails"]
    }
    archived = ecr.describe_images(repositoryName=repository.name, filter={"imageStatus": "ARCHIVED"})

    assert listed == {image.digest for image in repository.images if image.status == "ACTIVE"}
    assert {detail["imageStatus"] for detail in archived["imageDetails"]} == {"ARCHIVED"}


def test_lifecycle_policies_exist_exactly_where_seeded(registry: DemoRegistry, ecr: Any) -> None:
    for repository in registry.repositories:
        if repository.lifecycle_policy is None:
            with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
                ecr.get_lifecycle_policy(repositoryName=repository.name)
        else:
            policy = ecr.get_lifecycle_policy(repositoryName=repository.name)
            assert policy["lifecyclePolicyText"] == repository.lifecycle_policy


def test_stored_manifests_are_the_seeded_ones(registry: DemoRegistry, ecr: Any) -> None:
    image = seeded_where(registry, manifest_media_type=OCI_INDEX)[0]
    stored = ecr.batch_get_image(
        repositoryName=image.repository_name, imageIds=[{"imageDigest": image.digest}]
    )

    manifest = json.loads(stored["images"][0]["imageManifest"])
    assert [entry["digest"] for entry in manifest["manifests"]] == list(image.child_digests)


def test_the_registry_looks_like_a_real_one(registry: DemoRegistry) -> None:
    images = registry.images
    containers = [image for image in images if not image.subject_manifest_digest and not image.child_digests]
    blob_users = Counter(blob.digest for image in images for blob in image.blobs)
    large = [repository for repository in registry.repositories if repository.total_size_bytes > 5 * GB]
    ages = [registry.as_of - image.last_pull for image in images if image.last_pull]

    assert 35 <= len(registry.repositories) <= 45
    assert any("/" in repository.name for repository in registry.repositories)
    assert 300 <= len(images) <= 500
    assert any(len(image.tags) > 1 for image in images)
    assert max(blob_users.values()) > 10
    assert 0 < len(large) < len(registry.repositories) // 4
    assert all(20 * MB <= image.size_bytes <= 1.5 * GB for image in containers)
    assert min(ages) < timedelta(days=1) < timedelta(days=400) < max(ages)
    assert any(image.last_pull is None for image in images)
    assert any(image.last_activated_at for image in images)
    assert any(repository.scan_on_push for repository in registry.repositories)
    assert not all(repository.scan_on_push for repository in registry.repositories)
    assert any(repository.lifecycle_policy for repository in registry.repositories)
    assert {"COMPLETE", "FAILED", "UNSUPPORTED_IMAGE", ""} <= {image.scan_status for image in images}
    counts = [image.severity_counts for image in images if image.severity_counts is not None]
    assert {} in counts
    assert {"CRITICAL", "HIGH", "MEDIUM", "LOW"} <= {severity for found in counts for severity in found}


def test_the_plan_is_deterministic_and_relative_to_as_of(registry: DemoRegistry) -> None:
    later = plan_demo_registry(REGION, AS_OF + timedelta(days=10))

    assert plan_demo_registry(REGION, AS_OF) == registry
    assert [image.pushed_at - timedelta(days=10) for image in later.images] == [
        image.pushed_at for image in registry.images
    ]


def test_a_naive_as_of_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_demo_registry(REGION, datetime(2025, 6, 1))


def test_fill_image_refuses_a_status_ecr_does_not_have(registry: DemoRegistry) -> None:
    image = registry.images[0]
    with pytest.raises(ValueError, match="ImageStatus"):
        moto_ecr_gaps.fill_image(ACCOUNT_ID, REGION, image.repository_name, image.digest, image_status="GONE")


def scan_findings(ecr: Any, image: SeededImage, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """All pages of DescribeImageScanFindings, and how many pages there were."""
    pages = list(
        ecr.get_paginator("describe_image_scan_findings").paginate(
            repositoryName=image.repository_name,
            imageId={"imageDigest": image.digest},
            PaginationConfig={"PageSize": page_size},
        )
    )
    for page in pages:
        assert page["imageScanFindings"]["findingSeverityCounts"] == dict(image.severity_counts or {})
        assert page["imageScanFindings"]["imageScanCompletedAt"] == image.scan_completed_at
        assert page["imageScanStatus"]["status"] == "COMPLETE"
    return [finding for page in pages for finding in page["imageScanFindings"]["findings"]], len(pages)


def test_scan_findings_are_the_seeded_ones_paged_and_add_up_to_the_counts(
    registry: DemoRegistry, ecr: Any
) -> None:
    scanned = [image for image in registry.images if image.severity_counts]
    busiest = max(scanned, key=lambda image: len(image.findings))
    assert len(busiest.findings) > 10

    findings, pages = scan_findings(ecr, busiest, page_size=4)

    assert pages == -(-len(busiest.findings) // 4)
    assert findings == [finding.as_api() for finding in busiest.findings]
    assert Counter(finding["severity"] for finding in findings) == Counter(busiest.severity_counts)
    high = next(finding for finding in findings if finding["severity"] == "HIGH")
    attributes = {item["key"]: item["value"] for item in high["attributes"]}
    assert 7.0 <= float(attributes["CVSS3_SCORE"]) <= 8.9
    assert high["uri"] == f"https://nvd.nist.gov/vuln/detail/{high['name']}"
    for image in scanned:
        assert Counter(finding.severity for finding in image.findings) == Counter(image.severity_counts)
        assert len({finding.name for finding in image.findings}) == len(image.findings)


def test_a_clean_scan_lists_no_findings_and_an_unscanned_image_has_no_scan(
    registry: DemoRegistry, ecr: Any
) -> None:
    clean = next(image for image in registry.images if image.severity_counts == {})
    unscanned = next(image for image in registry.images if image.scan_status == "")

    assert scan_findings(ecr, clean, page_size=100) == ([], 1)
    with pytest.raises(ecr.exceptions.ScanNotFoundException):
        ecr.describe_image_scan_findings(
            repositoryName=unscanned.repository_name, imageId={"imageDigest": unscanned.digest}
        )


def test_images_built_on_one_base_share_vulnerabilities(registry: DemoRegistry) -> None:
    names = Counter(
        finding.name for image in registry.repository("team-a/api").images for finding in image.findings
    )
    assert max(names.values()) > 1


def test_fill_image_refuses_findings_that_do_not_add_up_to_the_counts(registry: DemoRegistry) -> None:
    image = next(image for image in registry.images if image.severity_counts)
    with pytest.raises(ValueError, match="severity counts say"):
        moto_ecr_gaps.fill_image(
            ACCOUNT_ID,
            REGION,
            image.repository_name,
            image.digest,
            severity_counts=image.severity_counts,
            scan_completed_at=image.scan_completed_at,
            findings=[finding.as_api() for finding in image.findings[1:]],
        )


def test_published_alerts_reach_the_subscribed_queue(
    emulator: Emulator, destination: ReportDestination
) -> None:
    sns = client("sns", emulator.endpoint_url, REGION)
    sns.publish(
        TopicArn=destination.topic_arn, Subject="ECR storage above threshold", Message="team-a/api 6 GB"
    )

    envelopes = receive_notifications(emulator.endpoint_url, REGION, destination.queue_url)

    assert [(envelope["Subject"], envelope["Message"]) for envelope in envelopes] == [
        ("ECR storage above threshold", "team-a/api 6 GB")
    ]
    assert receive_notifications(emulator.endpoint_url, REGION, destination.queue_url) == []
    assert client("s3", emulator.endpoint_url, REGION).head_bucket(Bucket=destination.bucket)


def test_the_command_line_server_seeds_then_stops_cleanly_on_sigterm() -> None:
    command = [
        sys.executable,
        "-m",
        "emulator.server",
        "--seed-demo",
        "--as-of",
        AS_OF.isoformat(),
    ]
    repo_root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=repo_root
    )
    try:
        assert process.stdout is not None
        marker, endpoint_url = process.stdout.readline().split()
        repositories = client("ecr", endpoint_url, REGION).describe_repositories()["repositories"]
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert marker == READY_MARKER
    assert len(repositories) == len(plan_demo_registry(REGION, AS_OF).repositories)
    assert exit_code == 0
