"""S3 PutObject faults at the operator: retried by botocore through S3Hook, or the task fails naming the
action and object, and the task's retry (a second ``execute``) writes the date again, byte-identical."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ecr_provider.aws.errors import AwsCallError
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.operators.conftest import REGION, REPORT_DATE, report_operator

pytestmark = pytest.mark.integration

PREFIX = "upload-faults"


def run_report(bucket: str) -> dict[str, Any]:
    summary: dict[str, Any] = report_operator(bucket, PREFIX).execute({})
    return summary


def objects(emulator: Emulator, bucket: str) -> dict[str, bytes]:
    s3 = client("s3", emulator.endpoint_url, REGION)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}/").get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


@pytest.fixture(scope="module")
def unfaulted(emulator: Emulator, registry: DemoRegistry, destination: ReportDestination) -> dict[str, bytes]:
    summary = run_report(destination.bucket)
    written = objects(emulator, destination.bucket)
    assert sorted(written) == sorted(summary["keys"].values())
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
    emulator.inject_faults({"s3:PutObject": ["500"] * 10})

    with pytest.raises(AwsCallError) as caught:
        run_report(destination.bucket)
    key = rf"{PREFIX}/\w+/report_date={REPORT_DATE}/\d{{12}}-{REGION}\.csv"
    assert re.match(
        rf"s3:PutObject on s3://{destination.bucket}/{key} failed with InternalError", str(caught.value)
    )
    assert str(caught.value).endswith("(reached max retries: 2): Injected server error")
    assert emulator.faults_injected == [("s3:PutObject", "500")] * 3

    emulator.inject_faults({})
    run_report(destination.bucket)
    assert objects(emulator, destination.bucket) == unfaulted


def test_put_object_denied_fails_naming_action_and_object(
    emulator: Emulator, destination: ReportDestination, unfaulted: dict[str, bytes]
) -> None:
    emulator.inject_faults({"s3:PutObject": ["denied"]})

    with pytest.raises(
        AwsCallError, match=rf"^s3:PutObject on s3://{destination.bucket}/{PREFIX}/.+ AccessDenied"
    ):
        run_report(destination.bucket)
    assert emulator.faults_injected == [("s3:PutObject", "denied")]
