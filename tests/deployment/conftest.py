"""A real Airflow 3 deployment, set up as docs/deploying.md tells a platform team.

Postgres (SQLite where the machine has no PostgreSQL server) as the metadata database, LocalExecutor,
and ``api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` as separate processes; AWS is the
demo's emulator in a process of its own. The connection, the ``ecr_report_config`` Variable and the
DAG's pools are set with the ``airflow`` command, and the REST API is used with a JWT from
``POST /auth/token``, as a user would. Every process started here is stopped at the end of the session.

A missing prerequisite skips these tests with the reason, except in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.destination import ReportDestination, create_report_destination
from emulator.server import DUMMY_CREDENTIALS, emulator_process
from tests.chromium import unavailable
from tests.conftest import REPO_ROOT

DAG_ID = "ecr_report"
REGION = "us-east-1"
ADMIN = "admin"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
START_TIMEOUT = 180.0
RUN_TIMEOUT = 300.0
# The demo registry has repositories above 5 GB, so a run with this Variable sends an alert.
STORAGE_THRESHOLD_GB = 5
REPORT_POOL = "ecr_report"
POOL_SLOTS = 8
TERMINAL_STATES = frozenset({"success", "failed"})
# A line at level ERROR or above: structlog's console form (`[error    ]`), the standard one (` ERROR `)
# and the task logs' JSON lines; not a logger that merely has "error" in its name (`uvicorn.error`).
ERROR_LINE = re.compile(r'\[(error|critical)\s*\]|\b(ERROR|CRITICAL)\b|"level": ?"(error|critical)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """``check()``'s first truthy value; fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def run_command(command: Sequence[str], environment: Mapping[str, str] | None = None) -> str:
    """A command that must succeed; its output, or a failure that shows it."""
    done = subprocess.run(list(command), env=environment, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if ERROR_LINE.search(line)]


@contextlib.contextmanager
def postgres_database(workdir: Path) -> Iterator[str]:
    """A throw-away PostgreSQL server on a free loopback port; yields its SQLAlchemy URL. Run as an
    unprivileged user (the server refuses root), its socket and data in ``workdir``."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    assert initdb
    assert pg_ctl
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' user to run the PostgreSQL server as")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", user.pw_name, "--"]
    data, log = workdir / "data", workdir / "postgres.log"
    port = free_port()
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    run_command([*run_as, initdb, "-D", str(data), "-U", "airflow", "-A", "trust", "-E", "UTF8"])
    run_command([*run_as, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"])
    try:
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/postgres"
    finally:
        run_command([*run_as, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])


@dataclass(frozen=True)
class AwsEmulator:
    endpoint_url: str
    destination: ReportDestination


@dataclass
class Deployment:
    """The running components, the REST API as an admin, and what the components logged."""

    home: Path
    base_url: str
    api: httpx.Client
    environment: dict[str, str]
    password: str
    """The admin's, for the login page."""

    def component_logs(self) -> dict[str, str]:
        return {name: (self.home / f"{name}.log").read_text(errors="replace") for name in COMPONENTS}

    def task_logs(self, run_id: str) -> dict[str, str]:
        """Each task log file of the run, by its path under the log folder."""
        folder = self.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
        return {
            str(path.relative_to(folder)): path.read_text(errors="replace") for path in folder.rglob("*.log")
        }

    def airflow(self, *arguments: str) -> str:
        """The ``airflow`` command against this deployment, as an operator would run it."""
        return run_command([airflow_command(), *arguments], self.environment)

    def dag_run(self, run_id: str) -> dict[str, Any]:
        response = self.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_for_run(self, run_id: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
        """The run once it has ended (success or failed)."""

        def ended() -> dict[str, Any] | None:
            run = self.dag_run(run_id)
            return run if run["state"] in TERMINAL_STATES else None

        result: dict[str, Any] = wait_for(f"run {run_id} to end", ended, timeout, interval=2.0)
        return result

    def task_states(self, run_id: str) -> dict[str, str | None]:
        response = self.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
        response.raise_for_status()
        return {
            ti["task_id"] if ti["map_index"] == -1 else f"{ti['task_id']}[{ti['map_index']}]": ti["state"]
            for ti in response.json()["task_instances"]
        }

    def trigger(self, conf: dict[str, Any]) -> httpx.Response:
        return self.api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf})


def airflow_command() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def create_dag_pools(deployment: Deployment) -> None:
    """The pools the parsed DAG's tasks name besides ``default_pool``, as docs/deploying.md says to
    create them: the scheduler never starts a task whose pool does not exist."""
    response = deployment.api.get(f"/api/v2/dags/{DAG_ID}/tasks")
    response.raise_for_status()
    for pool in sorted({task["pool"] for task in response.json()["tasks"]} - {"default_pool"}):
        deployment.airflow("pools", "set", pool, str(POOL_SLOTS), "ecr-report")


def airflow_environment(home: Path, database: str, port: int) -> dict[str, str]:
    """What every component gets: one metadata database, one JWT secret and Fernet key, the Execution
    API of the api-server; no AWS identity beyond the connection's."""
    from cryptography.fernet import Fernet

    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW", "AWS_"))
    }
    environment.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="8",
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database,
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        # Every listener on a free port, so the deployment runs beside another Airflow: the log servers of
        # the task processes and of the triggerer listen on 8793 and 8794 by default.
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        # The pool the DAG's report tasks run in, named where the DAG is parsed (docs/deploying.md).
        ECR_REPORT_POOL=REPORT_POOL,
        # The connection's keys are the only identity: no credential file, no instance metadata.
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPATH=str(REPO_ROOT),
    )
    return environment


@contextlib.contextmanager
def components(home: Path, environment: dict[str, str], port: int) -> Iterator[None]:
    """The four long-running components, each in its own process group so that everything it forks
    (api-server workers, executor workers, task processes) is stopped with it."""
    started: list[subprocess.Popen[bytes]] = []
    extra = {"api-server": ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]}
    try:
        for name in COMPONENTS:
            with (home / f"{name}.log").open("wb") as log:
                started.append(
                    subprocess.Popen(
                        [airflow_command(), name, *extra.get(name, [])],
                        env=environment,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def healthy(base_url: str) -> bool:
    """The api-server answers and reports every component healthy (they heartbeat to the database)."""
    try:
        response = httpx.get(f"{base_url}/api/v2/monitor/health", timeout=10)
    except httpx.TransportError:
        return False
    if response.status_code != 200:
        return False
    health = response.json()
    return all(health.get(name, {}).get("status") == "healthy" for name in HEALTHY_COMPONENTS)


def admin_token(base_url: str, password: str) -> str:
    credentials = {"username": ADMIN, "password": password}
    response = httpx.post(f"{base_url}/auth/token", json=credentials, timeout=30)
    assert response.status_code == 201, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsEmulator]:
    """The demo's emulator as its own process: the task processes reach it over HTTP only."""
    with emulator_process("--seed-demo", "--region", REGION) as endpoint_url:
        yield AwsEmulator(endpoint_url, create_report_destination(endpoint_url, REGION))


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """The metadata database: PostgreSQL where the machine has the server binaries, else SQLite."""
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        with tempfile.TemporaryDirectory(prefix="ecr-report-sqlite-") as folder:
            yield f"sqlite:///{folder}/airflow.db"
        return
    for driver in ("psycopg2", "asyncpg"):
        try:
            __import__(driver)
        except ImportError:
            unavailable(f"{driver} is not installed: install the project with its 'postgres' extra")
    with (
        tempfile.TemporaryDirectory(prefix="ecr-report-postgres-") as folder,
        postgres_database(Path(folder)) as url,
    ):
        yield url


@pytest.fixture(scope="session")
def deployment(aws: AwsEmulator, database: str) -> Iterator[Deployment]:
    with tempfile.TemporaryDirectory(prefix="ecr-report-deployment-") as folder:
        home = Path(folder)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        environment = airflow_environment(home, database, port)
        password = secrets.token_urlsafe(16)
        (home / "passwords.json").write_text(json.dumps({ADMIN: password}))
        with httpx.Client(base_url=base_url, timeout=60) as api:
            deployed = Deployment(home, base_url, api, environment, password)
            deployed.airflow("db", "migrate")
            connection = {
                "conn_type": "aws",
                "login": DUMMY_CREDENTIALS["aws_access_key_id"],
                "password": DUMMY_CREDENTIALS["aws_secret_access_key"],
                "extra": {"endpoint_url": aws.endpoint_url, "region_name": REGION},
            }
            deployed.airflow("connections", "add", "aws_default", "--conn-json", json.dumps(connection))
            config = {
                "report_bucket": aws.destination.bucket,
                "regions": [REGION],
                "sns_topic_arn": aws.destination.topic_arn,
                "storage_threshold_gb": STORAGE_THRESHOLD_GB,
            }
            deployed.airflow("variables", "set", "ecr_report_config", json.dumps(config))
            with components(home, environment, port):
                wait_for("every component to report healthy", lambda: healthy(base_url), START_TIMEOUT)
                api.headers["Authorization"] = f"Bearer {admin_token(base_url, password)}"
                wait_for(
                    f"the dag-processor to parse {DAG_ID}",
                    lambda: api.get(f"/api/v2/dags/{DAG_ID}").status_code == 200,
                    START_TIMEOUT,
                )
                create_dag_pools(deployed)
                yield deployed
