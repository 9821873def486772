"""Operators run with ``execute`` against the emulator, through an Airflow connection named ``emulator``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest

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


def task_context(map_index: int = -1) -> Context:
    """What the operators read of a task's context: the run and the map index."""
    return cast("Context", {"run_id": RUN_ID, "ti": SimpleNamespace(map_index=map_index)})


def report_operator(bucket: str, prefix: str, **arguments: Any) -> EcrRegistryReportOperator:
    """The registry report of the demo registry through the ``emulator`` connection, at a fixed price."""
    return EcrRegistryReportOperator(
        task_id="registry_report",
        aws_conn_id="emulator",
        region_name=REGION,
        report_bucket=bucket,
        report_prefix=prefix,
        report_date=REPORT_DATE,
        as_of=AS_OF.isoformat(),
        price_per_gb_month="0.10",
        **arguments,
    )


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
