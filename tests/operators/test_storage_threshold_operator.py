"""RepositoriesOverThresholdOperator: decides once, from the outcomes the run's report tasks recorded,
whether the notification goes out."""

from __future__ import annotations

import pytest

from ecr_provider.core.columns import REPOSITORIES_REPORT
from ecr_provider.core.layout import breaches_key, report_key
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.storage_threshold import RepositoriesOverThresholdOperator
from ecr_provider.version_compat import AirflowSkipException
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination
from tests.operators.conftest import (
    GENERATION,
    REGION,
    REPORT_DATE,
    RUN_ID,
    lake_arguments,
    plan_one_registry,
    report_one,
    task_context,
)

PREFIX = "operator-threshold"


def threshold_operator(bucket: str) -> RepositoriesOverThresholdOperator:
    return RepositoriesOverThresholdOperator(
        task_id="storage_over_threshold", **lake_arguments(bucket, PREFIX)
    )


@pytest.fixture(scope="module", autouse=True)
def plan(destination: ReportDestination) -> None:
    plan_one_registry(destination.bucket, PREFIX)


def test_repositories_over_threshold_are_recorded_largest_first_for_the_notifier(
    destination: ReportDestination, registry: DemoRegistry
) -> None:
    report_one(destination.bucket, PREFIX, storage_threshold_gb="0")

    outcome = threshold_operator(destination.bucket).execute(task_context())

    record = ReportLakeHook(aws_conn_id="emulator").read_json(
        destination.bucket, breaches_key(PREFIX, REPORT_DATE, GENERATION)
    )
    assert record is not None
    assert record["run_id"] == RUN_ID
    lake = ReportLakeHook(aws_conn_id="emulator")
    key = report_key(
        PREFIX, REPOSITORIES_REPORT, REPORT_DATE, registry.account_id, REGION, generation=GENERATION
    )
    rows = lake.read_report_rows(destination.bucket, key)
    over = sorted(row["repositoryName"] for row in rows if int(row["billableSizeBytes"]) > 0)
    assert over
    assert outcome == {"breaches": len(over)}
    assert sorted(breach["repository_name"] for breach in record["breaches"]) == over
    sizes = [int(breach["billable_size_bytes"]) for breach in record["breaches"]]
    assert sizes == sorted(sizes, reverse=True)


def test_nothing_over_threshold_skips_the_notification(destination: ReportDestination) -> None:
    report_one(destination.bucket, PREFIX, storage_threshold_gb="100000")

    with pytest.raises(
        AirflowSkipException, match=r"No repository is over its storage threshold \(1 registries"
    ):
        threshold_operator(destination.bucket).execute(task_context())


def test_the_step_has_no_waiting_settings() -> None:
    """It is an operator: nothing to poke, time out or reschedule."""
    operator = threshold_operator("ecr-reports-demo")
    assert not hasattr(operator, "poke")
    assert not hasattr(operator, "poke_interval")
