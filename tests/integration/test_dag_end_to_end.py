"""The ecr_report DAG end to end in the emulator: S3 objects, CSV content, partitions, the SNS alert."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ecr_provider.cli import run as run_cli
from ecr_provider.core.columns import REPORTS
from ecr_provider.core.csv_format import read_canonical, restore_formula
from ecr_provider.core.units import GB, MB
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination, receive_notifications
from emulator.server import Emulator, client
from tests.core.test_transform import SEED_FIRST_IMAGE_COLUMNS, SEED_FIRST_REPOSITORY_COLUMNS
from tests.integration.conftest import AS_OF, REGION, REPORT_DATE, RunDag, visible_generation

pytestmark = pytest.mark.integration

PREFIX = "ecr-reports"
THRESHOLD_GB = 5
OVERRIDES = {"platform/*": 20}


def conf(destination: ReportDestination, **overrides: Any) -> dict[str, Any]:
    return {
        "regions": [REGION],
        "report_bucket": destination.bucket,
        "report_prefix": PREFIX,
        "storage_threshold_gb": THRESHOLD_GB,
        "repository_thresholds_gb": OVERRIDES,
        "sns_topic_arn": destination.topic_arn,
        **overrides,
    }


def key(report: str, account_id: str, generation: str, report_date: str = REPORT_DATE) -> str:
    return f"{PREFIX}/{report}/report_date={report_date}/generation={generation}/{account_id}-{REGION}.csv"


def visible(emulator: Emulator, destination: ReportDestination) -> str:
    return visible_generation(emulator, destination.bucket, PREFIX)


LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""What the canonical form writes as a space."""


def read_object(emulator: Emulator, bucket: str, object_key: str) -> bytes:
    body: bytes = (
        client("s3", emulator.endpoint_url, REGION).get_object(Bucket=bucket, Key=object_key)["Body"].read()
    )
    return body


def rows(data: bytes) -> list[dict[str, str]]:
    return list(read_canonical(io.StringIO(data.decode("utf-8"), newline="")))


def expected_over_threshold(registry: DemoRegistry) -> set[str]:
    """Independent of the code under test: the last matching pattern wins, billable = image sizes."""
    over = set()
    for repository in registry.repositories:
        threshold = THRESHOLD_GB
        for pattern, gb in OVERRIDES.items():
            if fnmatch.fnmatchcase(repository.name, pattern):
                threshold = gb
        if repository.total_size_bytes > threshold * GB:
            over.add(repository.name)
    return over


def listed_repositories(message: str) -> set[str]:
    return {line[2:].split(" (", 1)[0] for line in message.splitlines() if line.startswith("- ")}


@pytest.fixture(scope="module")
def first_run(run_dag: RunDag, destination: ReportDestination, emulator: Emulator) -> dict[str, Any]:
    run_dag(conf(destination, include_findings=True))
    return {"notifications": receive_notifications(emulator.endpoint_url, REGION, destination.queue_url)}


def test_reports_land_under_the_spec_layout_with_the_seed_headers(
    first_run: dict[str, Any], emulator: Emulator, destination: ReportDestination, demo_registry: DemoRegistry
) -> None:
    s3 = client("s3", emulator.endpoint_url, REGION)
    listed = [
        item
        for report in REPORTS
        for item in s3.list_objects_v2(Bucket=destination.bucket, Prefix=f"{PREFIX}/{report}/")["Contents"]
    ]
    assert sorted(item["Key"] for item in listed) == [
        key("image_findings", demo_registry.account_id, visible(emulator, destination)),
        key("images_summary", demo_registry.account_id, visible(emulator, destination)),
        key("registries_summary", demo_registry.account_id, visible(emulator, destination)),
        key("repositories_summary", demo_registry.account_id, visible(emulator, destination)),
    ]
    repositories = read_object(
        emulator,
        destination.bucket,
        key("repositories_summary", demo_registry.account_id, visible(emulator, destination)),
    )
    images = read_object(
        emulator,
        destination.bucket,
        key("images_summary", demo_registry.account_id, visible(emulator, destination)),
    )
    assert repositories.startswith((",".join(SEED_FIRST_REPOSITORY_COLUMNS) + ",").encode())
    assert images.startswith((",".join(SEED_FIRST_IMAGE_COLUMNS) + ",").encode())


def test_repository_rows_match_what_was_seeded(
    first_run: dict[str, Any], emulator: Emulator, destination: ReportDestination, demo_registry: DemoRegistry
) -> None:
    data = read_object(
        emulator,
        destination.bucket,
        key("repositories_summary", demo_registry.account_id, visible(emulator, destination)),
    )
    by_name = {row["repositoryName"]: row for row in rows(data)}
    assert set(by_name) == {repository.name for repository in demo_registry.repositories}
    for seeded in demo_registry.repositories:
        row = by_name[seeded.name]
        total = seeded.total_size_bytes
        assert row["totalImages"] == str(len(seeded.images)), seeded.name
        assert row["totalSizeBytes"] == str(total)
        assert Decimal(row["totalSize(MB)"]) == round(Decimal(total) / MB, 2)
        assert abs(
            Decimal(row["monthlyStorageCost(USD)"]) - Decimal(total) / GB * Decimal("0.10")
        ) <= Decimal("0.00005")
        assert row["scanOnPush"] == ("true" if seeded.scan_on_push else "false")
        assert row["untaggedImages"] == str(sum(not image.tags for image in seeded.images))
        assert row["archivedImages"] == str(sum(image.status == "ARCHIVED" for image in seeded.images))
        if seeded.last_pull is None:
            assert (row["hasBeenPulled"], row["lastRecordedPullTime"], row["daysSinceLastPull"]) == (
                "false",
                "",
                "",
            )
        else:
            assert row["hasBeenPulled"] == "true"
            assert row["lastRecordedPullTime"] == seeded.last_pull.strftime("%Y-%m-%d %H:%M:%S")
            assert row["daysSinceLastPull"] == str((AS_OF - seeded.last_pull).days)
        if seeded.lifecycle_policy is None:
            assert row["lifecyclePolicyText"] == ""
        else:
            assert json.loads(row["lifecyclePolicyText"]) == json.loads(seeded.lifecycle_policy)
        assert row["asOf"] == "2026-11-20 00:00:00"


def test_image_rows_match_what_was_seeded(
    first_run: dict[str, Any], emulator: Emulator, destination: ReportDestination, demo_registry: DemoRegistry
) -> None:
    data = read_object(
        emulator,
        destination.bucket,
        key("images_summary", demo_registry.account_id, visible(emulator, destination)),
    )
    by_digest = {(row["repositoryName"], row["imageDigest"]): row for row in rows(data)}
    assert len(by_digest) == len(demo_registry.images)
    for seeded in demo_registry.images:
        row = by_digest[(seeded.repository_name, seeded.digest)]
        assert row["imageSizeBytes"] == str(seeded.size_bytes)
        assert json.loads(row["imageTags"]) == list(seeded.tags)
        assert row["imageStatus"] == seeded.status
        assert row["imageScanStatus"] == seeded.scan_status
        if seeded.severity_counts is None:
            assert row["findingSeverityCounts"] == ""
        else:
            assert json.loads(row["findingSeverityCounts"]) == {
                k: v for k, v in seeded.severity_counts.items() if v
            }
            assert row["findingsCritical"] == str(seeded.severity_counts.get("CRITICAL", 0))


def expected_findings(registry: DemoRegistry, max_age_days: int = 30) -> list[dict[str, str]]:
    """By hand from the seeded findings: images pushed or pulled within the bound, most severe first."""
    cutoff = AS_OF - timedelta(days=max_age_days)
    rows = [
        {
            "repositoryName": image.repository_name,
            "imageDigest": image.digest,
            "imageTags": json.dumps(list(image.tags), separators=(",", ":")),
            "findingName": finding.name,
            "severity": finding.severity,
            "cvssScore": finding.cvss_score,
            "packageName": finding.package_name,
            "installedVersion": finding.package_version,
            "lastObservedAt": image.scan_completed_at.strftime("%Y-%m-%d %H:%M:%S"),
            "referenceUrl": f"https://nvd.nist.gov/vuln/detail/{finding.name}",
        }
        for image in registry.images
        if image.scan_completed_at is not None
        and (image.pushed_at >= cutoff or (image.last_pull is not None and image.last_pull >= cutoff))
        for finding in image.findings
    ]
    rank = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
    return sorted(
        rows,
        key=lambda row: (
            row["repositoryName"],
            row["imageDigest"],
            rank.index(row["severity"]),
            row["findingName"],
            row["packageName"],
        ),
    )


def test_image_findings_rows_are_the_seeded_findings_of_recent_images(
    first_run: dict[str, Any], emulator: Emulator, destination: ReportDestination, demo_registry: DemoRegistry
) -> None:
    written = rows(
        read_object(
            emulator,
            destination.bucket,
            key("image_findings", demo_registry.account_id, visible(emulator, destination)),
        )
    )
    expected = expected_findings(demo_registry)

    assert len(expected) > 1000
    assert {row["repositoryName"] for row in expected} < {r.name for r in demo_registry.repositories}
    assert [{name: row[name] for name in expected[0]} for row in written] == expected
    assert {(row["accountId"], row["region"], row["asOf"]) for row in written} == {
        (demo_registry.account_id, REGION, "2026-11-20 00:00:00")
    }
    assert {(row["findingId"], row["fixedVersion"], row["status"]) for row in written} == {("", "", "")}


def test_partitions_and_one_alert_naming_exactly_the_repositories_over_threshold(
    first_run: dict[str, Any], emulator: Emulator, destination: ReportDestination, demo_registry: DemoRegistry
) -> None:
    glue = client("glue", emulator.endpoint_url, REGION)
    generation = visible(emulator, destination)
    for table in REPORTS:
        partitions = glue.get_partitions(DatabaseName="ecr_reports", TableName=table)["Partitions"]
        assert [p["Values"] for p in partitions] == [[REPORT_DATE]]
        assert partitions[0]["StorageDescriptor"]["Location"] == (
            f"s3://ecr-reports-demo/{PREFIX}/{table}/report_date={REPORT_DATE}/generation={generation}/"
        )
    notifications = first_run["notifications"]
    expected = expected_over_threshold(demo_registry)
    assert 0 < len(expected) < len(demo_registry.repositories)
    assert len(notifications) == 1
    assert listed_repositories(notifications[0]["Message"]) == expected
    assert notifications[0]["Subject"].startswith(f"ECR report {REPORT_DATE}: {len(expected)} repositories")


def test_the_run_manifest_records_a_complete_date_and_the_alert_is_marked_sent(
    first_run: dict[str, Any], emulator: Emulator, destination: ReportDestination, demo_registry: DemoRegistry
) -> None:
    manifest = json.loads(
        read_object(emulator, destination.bucket, f"{PREFIX}/_runs/report_date={REPORT_DATE}/manifest.json")
    )
    assert manifest["complete"] is True
    (target,) = manifest["targets"]
    assert (target["status"], target["repositories"], target["images"], target["findings"]) == (
        "loaded",
        len(demo_registry.repositories),
        len(demo_registry.images),
        len(expected_findings(demo_registry)),
    )
    marker = json.loads(
        read_object(
            emulator, destination.bucket, f"{PREFIX}/_notifications/report_date={REPORT_DATE}/alert.json"
        )
    )
    assert set(marker["repositories"]) == expected_over_threshold(demo_registry)


def test_a_rerun_of_a_date_replaces_its_generation_with_the_same_bytes_and_moves_the_partitions(
    first_run: dict[str, Any],
    run_dag: RunDag,
    emulator: Emulator,
    destination: ReportDestination,
    demo_registry: DemoRegistry,
) -> None:
    previous = visible(emulator, destination)
    before = [
        read_object(emulator, destination.bucket, key(report, demo_registry.account_id, previous))
        for report in sorted(REPORTS)
    ]
    run_dag(conf(destination, include_findings=True))
    generation = visible(emulator, destination)
    keys = [key(report, demo_registry.account_id, generation) for report in sorted(REPORTS)]
    s3 = client("s3", emulator.endpoint_url, REGION)
    listed = [
        item
        for report in REPORTS
        for item in s3.list_objects_v2(Bucket=destination.bucket, Prefix=f"{PREFIX}/{report}/")["Contents"]
    ]
    assert generation > previous
    assert sorted(item["Key"] for item in listed) == keys  # the previous generation is collected
    assert [read_object(emulator, destination.bucket, k) for k in keys] == before
    glue = client("glue", emulator.endpoint_url, REGION)
    for table in REPORTS:
        (partition,) = glue.get_partitions(DatabaseName="ecr_reports", TableName=table)["Partitions"]
        assert f"/generation={generation}/" in partition["StorageDescriptor"]["Location"]
    assert receive_notifications(emulator.endpoint_url, REGION, destination.queue_url) == []  # sent once


def test_no_message_when_no_repository_is_over_threshold(
    first_run: dict[str, Any], run_dag: RunDag, emulator: Emulator, destination: ReportDestination
) -> None:
    result = run_dag(
        conf(destination, storage_threshold_gb=100_000, repository_thresholds_gb={}), "2026-11-19"
    )
    assert "No repository is over its storage threshold" in result.output
    assert receive_notifications(emulator.endpoint_url, REGION, destination.queue_url) == []
    s3 = client("s3", emulator.endpoint_url, REGION)
    for report, present in (("images_summary", 1), ("image_findings", 0)):  # findings are opt-in
        listed = s3.list_objects_v2(
            Bucket=destination.bucket, Prefix=f"{PREFIX}/{report}/report_date=2026-11-19/"
        )
        assert listed["KeyCount"] == present, report


def test_cli_writes_the_same_rows_as_the_dag(
    first_run: dict[str, Any],
    emulator: Emulator,
    destination: ReportDestination,
    demo_registry: DemoRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    arguments = ["--output-dir", str(tmp_path), "--region", REGION, "--as-of", AS_OF.isoformat()]
    assert run_cli([*arguments, "--include-findings"]) == 0
    for report in REPORTS:
        from_dag = read_object(
            emulator,
            destination.bucket,
            key(report, demo_registry.account_id, visible(emulator, destination)),
        )
        with (tmp_path / f"{report}.csv").open(encoding="utf-8", newline="") as from_cli:
            # The CLI writes what a spreadsheet opens (RFC 4180, formulas neutralised, line breaks kept).
            cli_rows = [
                {header: LINE_BREAK.sub(" ", restore_formula(cell)) for header, cell in row.items()}
                for row in csv.DictReader(from_cli)
            ]
        assert cli_rows == list(read_canonical(io.StringIO(from_dag.decode("utf-8"), newline="")))


def test_a_complete_date_updates_the_asset_after_its_page_is_written(
    first_run: dict[str, Any], destination: ReportDestination, emulator: Emulator
) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == "ecr_report_complete")
            .all()
        )
        extras = [(event.extra, event.timestamp, event.source_task_id) for event in events]

    page = f"{PREFIX}/_html/report_date={REPORT_DATE}/report.html"
    expected = {
        "report_date": REPORT_DATE,
        "manifest": f"s3://{destination.bucket}/{PREFIX}/_runs/report_date={REPORT_DATE}/manifest.json",
        "reports": ["repositories_summary", "images_summary", "image_findings", "registries_summary"],
        "page": f"s3://{destination.bucket}/{page}",
    }
    (announced, task) = [(timestamp, task) for extra, timestamp, task in extras if extra == expected][-1]
    assert task == "html_report"
    written = client("s3", emulator.endpoint_url, REGION).head_object(Bucket=destination.bucket, Key=page)
    assert written["LastModified"] <= announced  # S3 keeps whole seconds
