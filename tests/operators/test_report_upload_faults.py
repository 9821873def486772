"""S3 PutObject faults at the operator: retried by botocore through S3Hook, or the task fails naming the
action and object, and the task's retry (a second ``execute``) writes the date again, byte-identical."""

from __future__ import annotations

import re

import pytest
from airflow.sdk.exceptions import AirflowException

from ecr_provider.core.run_manifest import OutcomeRecord, RegistrySummary
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.operators.conftest import (
    GENERATION,
    REGION,
    REPORT_DATE,
    plan_one_registry,
    recorded_outcome,
    report_one,
)

pytestmark = pytest.mark.integration

PREFIX = "upload-faults"


def run_report(bucket: str) -> RegistrySummary:
    return report_one(bucket, PREFIX)


def objects(emulator: Emulator, bucket: str) -> dict[str, bytes]:
    """The report objects; the task's outcome record under ``_runs/`` is read by :func:`recorded`."""
    s3 = client("s3", emulator.endpoint_url, REGION)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}/").get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listed
        if not item["Key"].startswith(f"{PREFIX}/_runs/")
    }


def recorded(bucket: str) -> OutcomeRecord:
    return recorded_outcome(bucket, PREFIX)


@pytest.fixture(scope="module")
def unfaulted(emulator: Emulator, registry: DemoRegistry, destination: ReportDestination) -> dict[str, bytes]:
    plan_one_registry(destination.bucket, PREFIX)
    summary = run_report(destination.bucket)
    written = objects(emulator, destination.bucket)
    assert sorted(written) == sorted(summary["keys"].values())
    assert recorded(destination.bucket) == {
        "index": 0,
        "target": {"region_name": REGION, "role_arn": None},
        "status": "loaded",
        "summary": summary,
        "error": None,
        "breaches": [],
    }
    return written


@pytest.mark.parametrize("retry_mode", ["legacy", "standard", "adaptive"])
@pytest.mark.parametrize("fault", ["500", "503", "throttle", "reset", "timeout"])
def test_put_object_failing_once_is_retried_to_the_same_objects(
    fault: str,
    retry_mode: str,
    emulator: Emulator,
    destination: ReportDestination,
    unfaulted: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", retry_mode)
    emulator.inject_faults({"s3:PutObject": [fault]})

    run_report(destination.bucket)

    assert emulator.faults_injected == [("s3:PutObject", fault)]
    assert objects(emulator, destination.bucket) == unfaulted


def test_put_object_failing_past_the_retries_fails_the_task_and_its_retry_rewrites_the_date(
    emulator: Emulator,
    destination: ReportDestination,
    unfaulted: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    # Standard mode's 3 attempts fail; the outcome record written after them gets through.
    emulator.inject_faults({"s3:PutObject": ["500"] * 3})

    with pytest.raises(AirflowException, match="1 of 1 registries of batch 0 failed") as caught:
        run_report(destination.bucket)
    failed = recorded(destination.bucket)
    assert (failed["status"], failed["summary"]) == ("failed", None)
    key = rf"{PREFIX}/\w+/report_date={REPORT_DATE}/generation={GENERATION}/\d{{12}}-{REGION}\.csv"
    assert failed["error"] is not None
    assert re.match(
        rf"AwsCallError: s3:PutObject on s3://{destination.bucket}/{key} failed with InternalError",
        failed["error"],
    )
    assert failed["error"].endswith("(reached max retries: 2): Injected server error")
    assert failed["error"] in str(caught.value)
    assert emulator.faults_injected == [("s3:PutObject", "500")] * 3

    emulator.inject_faults({})
    run_report(destination.bucket)
    assert objects(emulator, destination.bucket) == unfaulted


def test_put_object_denied_fails_naming_action_and_object(
    emulator: Emulator, destination: ReportDestination, unfaulted: dict[str, bytes]
) -> None:
    emulator.inject_faults({"s3:PutObject": ["denied"]})

    with pytest.raises(AirflowException) as caught:
        run_report(destination.bucket)
    error = recorded(destination.bucket)["error"]
    assert error is not None
    assert re.match(
        rf"AwsCallError: s3:PutObject on s3://{destination.bucket}/{PREFIX}/.+ AccessDenied", error
    )
    assert error in str(caught.value)
    assert emulator.faults_injected == [("s3:PutObject", "denied")]
