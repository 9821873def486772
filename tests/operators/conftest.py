"""Operators run with ``execute`` against the emulator, through an Airflow connection named ``emulator``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest

from ecr_provider.core.layout import outcomes_key, plan_key
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.run_manifest import OutcomeRecord, RegistrySummary
from ecr_provider.core.run_plan import RunPlan, prices_record
from ecr_provider.core.targets import TargetParams
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.registry_report import EcrRegistryReportOperator
from emulator.demo_registry import DemoRegistry, seed_demo_registry
from emulator.destination import ReportDestination, create_report_destination
from emulator.server import Emulator

if TYPE_CHECKING:
    from airflow.sdk import Context

REGION = "us-east-1"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
REPORT_DATE = "2026-11-20"
READ_TIMEOUT_SECONDS = 2.0
"""Now that the connection's settings reach the ECR clients too, short enough for a stalled answer and
long enough for moto's slowest honest one on a loaded two-core machine."""
STALL_SECONDS = 3.0


RUN_ID = "manual__2026-11-20T00:00:00+00:00"
GENERATION = "20261120T000000Z-0a1b2c3d"
"""The generation the run plans of these tests name."""


def task_context(map_index: int = -1) -> Context:
    """What the operators read of a task's context: the run and the map index."""
    return cast("Context", {"run_id": RUN_ID, "ti": SimpleNamespace(map_index=map_index)})


def lake_arguments(bucket: str, prefix: str) -> dict[str, str]:
    """A report-lake task's arguments for the run of ``REPORT_DATE``, through the ``emulator`` connection."""
    return {
        "aws_conn_id": "emulator",
        "region_name": REGION,
        "report_bucket": bucket,
        "report_prefix": prefix,
        "report_date": REPORT_DATE,
    }


def plan_one_registry(bucket: str, prefix: str, report_date: str = REPORT_DATE, run_id: str = RUN_ID) -> None:
    """The run plan of a run that reports the connection's own registry in ``REGION``, at a fixed price."""
    plan = RunPlan(
        run_id=run_id,
        report_date=report_date,
        generation=GENERATION,
        targets=[TargetParams(region_name=REGION, role_arn=None)],
        batches=[[0]],
        workloads=[],
        prices={REGION: prices_record(StoragePrices(Decimal("0.10"), None, "override"))},
    )
    ReportLakeHook(aws_conn_id="emulator").write_json(bucket, plan_key(prefix, report_date), plan)


def report_operator(bucket: str, prefix: str, **arguments: Any) -> EcrRegistryReportOperator:
    """The report task of that plan's one batch (``plan_one_registry`` first), through the ``emulator``
    connection."""
    return EcrRegistryReportOperator(
        task_id="registry_report",
        aws_conn_id="emulator",
        region_name=REGION,
        report_bucket=bucket,
        report_prefix=prefix,
        report_date=REPORT_DATE,
        as_of=AS_OF.isoformat(),
        **arguments,
    )


def recorded_outcome(bucket: str, prefix: str) -> OutcomeRecord:
    """What the report task recorded for the plan's one registry."""
    document = ReportLakeHook(aws_conn_id="emulator").read_json(bucket, outcomes_key(prefix, REPORT_DATE, 0))
    assert document is not None
    assert document["run_id"] == RUN_ID
    (outcome,) = document["outcomes"]
    return cast("OutcomeRecord", outcome)


def report_one(bucket: str, prefix: str, **arguments: Any) -> RegistrySummary:
    """Report the one registry of the plan, as a run of its own: the outcome an earlier call recorded
    is cleared first, or the task would keep it as loaded already (what a retry does). Its summary as
    recorded for the run manifest."""
    ReportLakeHook(aws_conn_id="emulator").delete_keys(bucket, [outcomes_key(prefix, REPORT_DATE, 0)])
    report_operator(bucket, prefix, **arguments).execute(task_context())
    summary = recorded_outcome(bucket, prefix)["summary"]
    assert summary is not None
    return summary


@pytest.fixture(scope="package")
def emulator() -> Iterator[Emulator]:
    with Emulator(stall_seconds=STALL_SECONDS) as running:
        yield running


@pytest.fixture(scope="package")
def registry(emulator: Emulator) -> DemoRegistry:
    return seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)


@pytest.fixture(scope="package")
def destination(emulator: Emulator) -> ReportDestination:
    return create_report_destination(emulator.endpoint_url, REGION)


@pytest.fixture(scope="package", autouse=True)
def connection(emulator: Emulator) -> Iterator[None]:
    """A read timeout short enough for the emulator's stalled answers."""
    extra = {
        "endpoint_url": emulator.endpoint_url,
        "region_name": REGION,
        "config_kwargs": {"read_timeout": READ_TIMEOUT_SECONDS, "connect_timeout": 1},
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_EMULATOR", json.dumps({"conn_type": "aws", "extra": extra}))
        yield


@pytest.fixture(autouse=True)
def no_faults_after_the_test(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.inject_faults({})
