"""EcrRegistryReportOperator's opt-in image_findings report: validation, the third object, its faults."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest

from ecr_provider.core.columns import FINDINGS_REPORT, IMAGES_REPORT, REGISTRIES_REPORT, REPOSITORIES_REPORT
from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.layout import report_key
from ecr_provider.core.run_manifest import ReportPartFailed
from ecr_provider.operators.registry_report import EcrRegistryReportOperator
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.operators.conftest import (
    AS_OF,
    GENERATION,
    REGION,
    REPORT_DATE,
    plan_one_registry,
    recorded_outcome,
    report_one,
    report_operator,
    task_context,
)

PREFIX = "operator-findings"


def operator(bucket: str = "ecr-reports-demo", **findings: Any) -> EcrRegistryReportOperator:
    return report_operator(bucket, PREFIX, **findings)


@pytest.fixture(scope="module", autouse=True)
def plan(destination: ReportDestination) -> None:
    plan_one_registry(destination.bucket, PREFIX)


@pytest.mark.parametrize("days", [-1, 3651, True])
def test_a_bad_age_bound_is_refused_when_the_dag_is_parsed(days: object) -> None:
    with pytest.raises(ValueError, match=f"findings_max_age_days .*got {days!r}"):
        operator(include_findings=True, findings_max_age_days=days)


@pytest.mark.parametrize(
    ("findings", "named"),
    [
        ({"include_findings": True, "findings_max_age_days": "a week"}, "got 'a week'"),
        ({"include_findings": "yes"}, "include_findings must be true or false, got 'yes'"),
    ],
)
def test_a_bad_rendered_value_is_refused_before_any_aws_call(
    findings: dict[str, Any], named: str, emulator: Emulator
) -> None:
    emulator.inject_faults({"ecr:DescribeRepositories": ["denied"]})  # would fail differently if called
    with pytest.raises(ValueError, match=named):
        operator(**findings).execute(task_context())
    assert emulator.faults_injected == []


def findings_rows(emulator: Emulator, bucket: str, key: str) -> tuple[bytes, list[dict[str, str]]]:
    body: bytes = (
        client("s3", emulator.endpoint_url, REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    )
    return body, list(read_canonical(io.StringIO(body.decode(), newline="")))


def recent_findings(registry: DemoRegistry, days: int) -> int:
    cutoff = AS_OF - timedelta(days=days)
    return sum(
        len(image.findings)
        for image in registry.images
        if image.pushed_at >= cutoff or (image.last_pull is not None and image.last_pull >= cutoff)
    )


@pytest.mark.integration
def test_a_rendered_age_bound_writes_a_third_object_with_the_findings_of_recent_images(
    emulator: Emulator,
    registry: DemoRegistry,
    destination: ReportDestination,
    caplog: pytest.LogCaptureFixture,
) -> None:
    summary = report_one(destination.bucket, PREFIX, include_findings=True, findings_max_age_days="7")

    key = summary["keys"]["image_findings"]
    assert key == (  # under the generation the run plan names
        f"{PREFIX}/image_findings/report_date={REPORT_DATE}/generation={GENERATION}/"
        f"{registry.account_id}-{REGION}.csv"
    )
    _, rows = findings_rows(emulator, destination.bucket, key)
    assert summary["findings"] == len(rows) == recent_findings(registry, 7)
    assert 0 < len(rows) < recent_findings(registry, 30)
    calls = summary["calls"][0]["DescribeImageScanFindings"]["calls"]
    images = len({(row["repositoryName"], row["imageDigest"]) for row in rows})
    assert calls == images  # one per image
    where = f"{registry.account_id}/{REGION}"
    assert f"Reading the findings of {images} images with findings in {where} (BASIC scanning)" in caplog.text


@pytest.mark.integration
def test_throttled_and_failing_finding_reads_are_retried_to_the_same_bytes(
    emulator: Emulator, registry: DemoRegistry, destination: ReportDestination
) -> None:
    first = report_one(destination.bucket, PREFIX, include_findings=True)
    before, _ = findings_rows(emulator, destination.bucket, first["keys"]["image_findings"])
    emulator.inject_faults({"ecr:DescribeImageScanFindings": ["throttle", "500", "throttle"]})

    again = report_one(destination.bucket, PREFIX, include_findings=True)

    after, _ = findings_rows(emulator, destination.bucket, again["keys"]["image_findings"])
    assert [operation for operation, _ in emulator.faults_injected] == ["ecr:DescribeImageScanFindings"] * 3
    assert after == before


@pytest.mark.integration
def test_denied_findings_leave_the_summaries_loaded_and_fail_the_task_naming_the_action(
    emulator: Emulator, registry: DemoRegistry, destination: ReportDestination
) -> None:
    prefix = f"{PREFIX}-denied"
    plan_one_registry(destination.bucket, prefix)
    emulator.inject_faults({"ecr:DescribeImageScanFindings": ["denied"]})

    with pytest.raises(ReportPartFailed) as failed:
        report_operator(destination.bucket, prefix, include_findings=True).execute(task_context())

    denial = (
        "ecr:DescribeImageScanFindings on [^ ]+ failed with AccessDeniedException: "
        "User is not authorized to perform: ecr:DescribeImageScanFindings"
    )
    assert re.fullmatch(
        f"image_findings of {registry.account_id}/{REGION} was not written \\(AwsCallError: {denial}\\); "
        "its other reports were",
        str(failed.value),
    )
    s3 = client("s3", emulator.endpoint_url, REGION)
    record = recorded_outcome(destination.bucket, prefix)
    summary = record["summary"]
    assert summary is not None
    assert (record["status"], record["error"]) == ("loaded", None)
    assert re.fullmatch(f"AwsCallError: {denial}", summary["findings_error"])
    assert "findings" not in summary
    assert sorted(summary["keys"]) == [IMAGES_REPORT, REGISTRIES_REPORT, REPOSITORIES_REPORT]
    for key in summary["keys"].values():
        assert s3.head_object(Bucket=destination.bucket, Key=key)["ContentLength"] > 0
    findings = report_key(
        prefix, FINDINGS_REPORT, REPORT_DATE, registry.account_id, REGION, generation=GENERATION
    )
    assert s3.list_objects_v2(Bucket=destination.bucket, Prefix=findings)["KeyCount"] == 0
    assert summary["repositories"] == len(registry.repositories)


@pytest.mark.integration
def test_each_registry_logs_its_phases_up_to_its_outcome(
    registry: DemoRegistry, destination: ReportDestination, capsys: pytest.CaptureFixture[str]
) -> None:
    report_one(destination.bucket, PREFIX, include_findings=True)

    timed = r"\d+\.\d\d s"
    phases = ", ".join(
        f"{phase} {timed}"
        for phase in ("set-up", "read", "transform", "write", "findings", "upload", "outcome")
    )
    captured = capsys.readouterr()
    lines = re.findall(
        f"Registry .+ phases: {phases}; {timed} in all; outcome written {timed} after the task started",
        captured.out + captured.err,
    )
    assert len(lines) == 1
