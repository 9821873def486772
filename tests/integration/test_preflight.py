"""The DAG checks where it writes before it reads any registry: a missing bucket or topic fails the run
within a minute, naming it, with no registry read and nothing written."""

from __future__ import annotations

import time
from typing import Any

import pytest

from emulator.destination import ReportDestination
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.integration.conftest import REGION, RunDag

pytestmark = pytest.mark.integration

PREFIX = "preflight-dag"
FAILS_WITHIN_SECONDS = 60
NO_REGISTRY_READ = ("registry_targets", "registry_report", "html_report")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {"report_bucket": "no-such-ecr-reports"},
            "s3:ListBucket on s3://no-such-ecr-reports/preflight-dag/",
        ),
        (
            {"sns_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:no-such-topic"},
            f"sns:GetTopicAttributes on arn:aws:sns:{REGION}:{ACCOUNT_ID}:no-such-topic failed with NotFound",
        ),
    ],
    ids=["bucket", "topic"],
)
def test_a_missing_destination_fails_the_run_before_any_registry_is_read(
    overrides: dict[str, Any],
    named: str,
    dag_runner: RunDag,
    destination: ReportDestination,
    emulator: Emulator,
) -> None:
    conf = {
        "regions": [REGION],
        "report_bucket": destination.bucket,
        "report_prefix": PREFIX,
        "sns_topic_arn": destination.topic_arn,
        **overrides,
    }
    started = time.monotonic()
    result = dag_runner(conf)
    elapsed = time.monotonic() - started

    assert result.state == "failed", result.tail()
    assert elapsed < FAILS_WITHIN_SECONDS
    assert result.task_states["preflight"] == "failed"
    assert named in result.task_logs()["preflight"]
    assert {
        task: result.task_states.get(task, "upstream_failed") for task in NO_REGISTRY_READ
    } == dict.fromkeys(NO_REGISTRY_READ, "upstream_failed")
    listed = client("s3", emulator.endpoint_url, REGION).list_objects_v2(
        Bucket=destination.bucket, Prefix=f"{PREFIX}/"
    )
    assert listed.get("Contents", []) == []
