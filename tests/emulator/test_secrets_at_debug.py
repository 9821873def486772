"""At DEBUG, where botocore logs every signed request and every response body and Airflow's in-process
supervisor logs every message a task sends it, no credential reaches a log, an object or a page on any
documented path: the console command, ``dag.test()`` and the demo's ``airflow dags test``, each in a
process of its own with known fake secrets (key, secret, session token, and an ExternalId for the
role it assumes); and an assumed role's keys."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import ecr_provider.hooks.report_lake  # noqa: F401  (importing the provider's hooks installs the filter)
from emulator import demo
from emulator.dag_process import DAG_TEST
from emulator.demo_registry import seed_demo_registry
from emulator.destination import ReportDestination, create_report_destination
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

REGION = "us-east-1"
SECRET_ACCESS_KEY = "CliSecretKey/MustNeverBeLogged+0123456789abcdefghij"
SESSION_TOKEN = "CliSessionToken/MustNeverBeLoggedEither/0123456789"
ACCESS_KEY_ID = "AKIADEBUGSCANFAKE001"
EXTERNAL_ID = "FakeExternalId,With=Odd/Characters-42"
SECRETS = (SECRET_ACCESS_KEY, SESSION_TOKEN, EXTERNAL_ID)
"""The key id is no secret (it names the key, as in CloudTrail); the others must never be written."""
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/ecr-report"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
REPORT_DATE = AS_OF.date().isoformat()


@pytest.fixture(scope="module")
def destination(emulator: Emulator) -> ReportDestination:
    seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)
    return create_report_destination(emulator.endpoint_url, REGION)


def connection_with_secrets(emulator: Emulator) -> str:
    """``aws_default`` with every secret a connection holds: keys, session token, a role's ExternalId."""
    extra = {
        "endpoint_url": emulator.endpoint_url,
        "region_name": REGION,
        "aws_session_token": SESSION_TOKEN,
        "role_arn": ROLE_ARN,
        "assume_role_kwargs": {"ExternalId": EXTERNAL_ID},
    }
    return json.dumps(
        {"conn_type": "aws", "login": ACCESS_KEY_ID, "password": SECRET_ACCESS_KEY, "extra": extra}
    )


def airflow_at_debug(emulator: Emulator, home: Path) -> dict[str, str | None]:
    """An Airflow logging at DEBUG whose only credentials are the connection's (STS at the emulator)."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG",
        "AIRFLOW_CONN_AWS_DEFAULT": connection_with_secrets(emulator),
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_SESSION_TOKEN": None,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def dag_conf(destination: ReportDestination, name: str) -> dict[str, Any]:
    """The demo's settings, with a lake of the run's own."""
    return {
        **demo.DEMO_SETTINGS,
        "report_bucket": destination.bucket,
        "sns_topic_arn": destination.topic_arn,
        "report_prefix": name,
        "athena_database": name.replace("-", "_"),
    }


def written_by_the_run(
    emulator: Emulator, destination: ReportDestination, prefix: str, home: Path
) -> list[str]:
    """Every object the run wrote (the CSVs, manifests, the HTML page) and every file in its
    AIRFLOW_HOME but the database (task logs, configuration)."""
    s3 = client("s3", emulator.endpoint_url, REGION)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=destination.bucket, Prefix=f"{prefix}/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", ())]
    assert any(key.endswith(".html") for key in keys), keys
    objects = [s3.get_object(Bucket=destination.bucket, Key=key)["Body"].read().decode() for key in keys]
    files = [
        path.read_text(errors="replace")
        for path in home.rglob("*")
        if path.is_file() and not path.name.startswith("airflow.db")
    ]
    return objects + files


def assert_no_secret_in(texts: list[str]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_the_cli_at_debug_logs_requests_without_their_credentials(emulator: Emulator, tmp_path: Path) -> None:
    """The standard chain: a profile assuming a role with an ExternalId, from keys with a session token."""
    config = tmp_path / "config"
    config.write_text(
        f"[profile report]\nrole_arn = {ROLE_ARN}\nexternal_id = {EXTERNAL_ID}\nsource_profile = keys\n"
    )
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[keys]\naws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = {SECRET_ACCESS_KEY}\n"
        f"aws_session_token = {SESSION_TOKEN}\n"
    )
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environ.update(
        PYTHONPATH=str(REPO_ROOT),
        LOG_VERBOSITY="DEBUG",
        AWS_ENDPOINT_URL=emulator.endpoint_url,
        AWS_PROFILE="report",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
    )
    output = tmp_path / "out"

    done = subprocess.run(
        [sys.executable, "-m", "ecr_provider.cli", "--output-dir", str(output), "--region", REGION],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-4000:]
    assert "DEBUG Sending http request" in done.stderr
    assert "x-amz-security-token:***" in done.stderr  # logged, and redacted
    assert "'ExternalId': '***'" in done.stderr  # the AssumeRole request logged, and redacted
    written = [path.read_text() for path in output.iterdir()]
    assert "report.html" in {path.name for path in output.iterdir()}
    assert_no_secret_in([done.stdout, done.stderr, *written])


@pytest.mark.parametrize("path", ["dag.test()", "airflow dags test (make demo)"])
def test_a_dag_run_at_debug_writes_no_secret_of_its_connection(
    path: str, emulator: Emulator, destination: ReportDestination, tmp_path: Path
) -> None:
    prefix = "debug-dag-test" if path == "dag.test()" else "debug-demo"
    home = tmp_path / "airflow"
    home.mkdir()
    environment = airflow_at_debug(emulator, home)
    conf = dag_conf(destination, prefix)
    if path == "dag.test()":
        environ = {**demo.airflow_env(emulator.endpoint_url, home), "PYTHONPATH": str(REPO_ROOT)}
        environ.update({name: value for name, value in environment.items() if value is not None})
        for name in (name for name, value in environment.items() if value is None):
            environ.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-c", DAG_TEST, str(REPO_ROOT / "dags"), REPORT_DATE, json.dumps(conf)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        log = done.stdout + done.stderr
        assert "dag.test() run state: success" in log, log[-6000:]
    else:
        log = demo.run_dag(emulator.endpoint_url, REPORT_DATE, conf, 1, home=home, environment=environment)

    assert "[debug" in log
    assert "MaskSecret(value=***, name=None" in log  # the supervisor's line, redacted
    assert "'ExternalId': '***'" in log  # botocore's AssumeRole line, redacted
    assert_no_secret_in([log, *written_by_the_run(emulator, destination, prefix, home)])


def test_an_assumed_roles_credentials_are_not_logged_at_debug(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    sts = client("sts", emulator.endpoint_url, REGION)
    with caplog.at_level(logging.DEBUG):
        credentials = sts.assume_role(
            RoleArn="arn:aws:iam::123456789012:role/ecr-report", RoleSessionName="debug-scan"
        )["Credentials"]

    assert "Response body:" in caplog.text
    assert "<SecretAccessKey>***</SecretAccessKey>" in caplog.text
    assert credentials["SecretAccessKey"] not in caplog.text
    assert credentials["SessionToken"] not in caplog.text
