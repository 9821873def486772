"""The emulator with the demo registry, a migrated Airflow database and a way to run the DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.demo_registry import DemoRegistry, seed_demo_registry
from emulator.destination import ReportDestination, create_report_destination
from emulator.server import Emulator

AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
REPORT_DATE = "2026-11-20"
REGION = "us-east-1"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))

RunDag = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture(scope="session")
def demo_registry(emulator: Emulator) -> DemoRegistry:
    return seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)


@pytest.fixture(scope="session")
def destination(emulator: Emulator) -> ReportDestination:
    return create_report_destination(emulator.endpoint_url, REGION)


@pytest.fixture(scope="session")
def airflow_env(emulator: Emulator) -> dict[str, str]:
    connection = {"conn_type": "aws", "extra": {"endpoint_url": emulator.endpoint_url, "region_name": REGION}}
    environment = dict(os.environ, AIRFLOW_CONN_AWS_DEFAULT=json.dumps(connection))
    subprocess.run([AIRFLOW, "db", "migrate"], env=environment, check=True, capture_output=True)
    return environment


@pytest.fixture(scope="session")
def run_dag(airflow_env: dict[str, str], demo_registry: DemoRegistry) -> RunDag:
    """``airflow dags test`` in a child process: the DAG talks to the emulator over HTTP, like to AWS."""

    def run(conf: dict[str, Any], report_date: str = REPORT_DATE) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [AIRFLOW, "dags", "test", "ecr_report", report_date, "--conf", json.dumps(conf)],
            env=airflow_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
        return result

    return run
