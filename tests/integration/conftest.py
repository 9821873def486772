"""One emulator with the demo registry per session, and the ecr_report DAG run in this process.

``dag.test()`` runs the DAG as ``airflow dags test`` does, without a child process and its start-up:
the DAG's clients still talk to the emulator over HTTP, like to AWS. The Airflow database is migrated
once per session and the DAG file is parsed once, with task retries off, so a run that is meant to fail
does not wait out the DAG's retry delay (2 retries, 2 minutes apart).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk import DAG

from ecr_provider.core.layout import run_manifest_key
from emulator.demo_registry import DemoRegistry, seed_demo_registry
from emulator.destination import ReportDestination, create_report_destination
from emulator.server import Emulator, client
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from tests.integration.lake import Lake

AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
REPORT_DATE = "2026-11-20"
REGION = "us-east-1"
DAG_FILE = REPO_ROOT / "dags" / "ecr_report.py"
TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


@dataclass(frozen=True)
class DagRunResult:
    """A finished run: its state, each task's state (``task_id[i]`` when mapped) and its log."""

    state: str
    task_states: dict[str, str]
    output: str
    """Everything the run logged, task logs included, as ``airflow dags test`` prints it."""

    def tail(self) -> str:
        return self.output[-4000:]

    def tasks_in(self, *states: str) -> list[str]:
        return sorted(task for task, state in self.task_states.items() if state in states)

    def task_logs(self) -> dict[str, str]:
        """The log of each task, split at the ``[DAG TEST] starting`` line ``dag.test()`` logs."""
        logs: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in self.output.splitlines():
            if started := TASK_START.search(line):
                task_id, map_index = started.groups()
                current = logs.setdefault(task_id if map_index == "-1" else f"{task_id}[{map_index}]", [])
            if current is not None:
                current.append(line)
        return {task: "\n".join(lines) for task, lines in logs.items()}


RunDag = Callable[..., DagRunResult]


def visible_generation(emulator: Emulator, bucket: str, prefix: str, report_date: str = REPORT_DATE) -> str:
    """The generation the date's run manifest makes visible: where its report objects are."""
    s3 = client("s3", emulator.endpoint_url, REGION)
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=run_manifest_key(prefix, report_date))["Body"].read()
    )
    generation: str = manifest["generation"]
    return generation


def aws_connection(endpoint_url: str, **fields: Any) -> str:
    """``AIRFLOW_CONN_AWS_DEFAULT`` for the emulator; ``fields`` add login, password or extras."""
    extra = {"endpoint_url": endpoint_url, "region_name": REGION, **fields.pop("extra", {})}
    return json.dumps({"conn_type": "aws", **fields, "extra": extra})


def as_identity(
    endpoint_url: str, access_key_id: str, secret_access_key: str, session_token: str | None = None
) -> dict[str, str | None]:
    """The environment of a run whose only credentials are these keys, in ``aws_default``: no
    ``AWS_*`` variable, no credential or config file, no instance metadata."""
    extra = {"aws_session_token": session_token} if session_token else {}
    connection = aws_connection(endpoint_url, login=access_key_id, password=secret_access_key, extra=extra)
    environ: dict[str, str | None] = {name: None for name in os.environ if name.startswith("AWS_")}
    environ.update(
        AIRFLOW_CONN_AWS_DEFAULT=connection,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return environ


@contextlib.contextmanager
def captured_output() -> Iterator[io.StringIO]:
    """What ``airflow dags test`` would print: the task runner writes to ``sys.stdout``, the standard
    loggers (the ``[DAG TEST]`` lines, the package's modules) reach the root logger."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        root.removeHandler(handler)


def run_in_process(
    dag: DAG, conf: Mapping[str, Any], report_date: str, environ: Mapping[str, str | None]
) -> DagRunResult:
    """One ``dag.test()`` run for ``report_date`` with ``environ`` set (``None`` unsets a name)."""
    logical_date = datetime.fromisoformat(report_date).replace(tzinfo=UTC)
    with pytest.MonkeyPatch.context() as patch, captured_output() as output:
        for name, value in environ.items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        dag_run = dag.test(logical_date=logical_date, run_conf=dict(conf))
    task_states = {
        ti.task_id if ti.map_index == -1 else f"{ti.task_id}[{ti.map_index}]": str(ti.state)
        for ti in dag_run.get_task_instances()
    }
    return DagRunResult(str(dag_run.state), task_states, output.getvalue())


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
def airflow_database() -> Path:
    """The session's Airflow metadata database (SQLite in ``AIRFLOW_HOME``), migrated in process."""
    from airflow.utils.db import initdb

    initdb()
    return Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"


@pytest.fixture(scope="session")
def ecr_dag(airflow_database: Path) -> DAG:
    """The DAG as the scheduler parses it, with no task retries."""
    from tests.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag("ecr_report")
    assert isinstance(dag, DAG)
    for task in dag.tasks:
        task.retries = 0
    return dag


@pytest.fixture(scope="session")
def dag_runner(ecr_dag: DAG, emulator: Emulator, demo_registry: DemoRegistry) -> RunDag:
    """Runs the DAG on the demo registry, as ``aws_default`` pointing at the emulator unless ``environ``
    says otherwise; the run may fail."""

    def run(
        conf: Mapping[str, Any],
        report_date: str = REPORT_DATE,
        environ: Mapping[str, str | None] | None = None,
    ) -> DagRunResult:
        default = {"AIRFLOW_CONN_AWS_DEFAULT": aws_connection(emulator.endpoint_url)}
        return run_in_process(ecr_dag, conf, report_date, {**default, **(environ or {})})

    return run


@pytest.fixture(scope="session")
def run_dag(dag_runner: RunDag) -> RunDag:
    """A run that must succeed."""

    def run(conf: Mapping[str, Any], report_date: str = REPORT_DATE) -> DagRunResult:
        result = dag_runner(conf, report_date)
        assert result.state == "success", result.output[-10000:]
        return result

    return run


@pytest.fixture
def lake_of(
    emulator: Emulator, destination: ReportDestination, dag_runner: RunDag, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Lake]:
    """A lake named ``name`` (tests/integration/lake.py), read as ``aws_default`` at the emulator."""
    from tests.integration.lake import Lake  # it imports this module

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_connection(emulator.endpoint_url))
    return lambda name: Lake(emulator, destination, dag_runner, name)
