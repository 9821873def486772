"""At DEBUG, where botocore logs every signed request and every response body, no credential reaches
the CLI's output or a task's log: the command in a process of its own, and an assumed role's keys."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ecr_provider.hooks.report_lake  # noqa: F401  (importing the provider's hooks installs the filter)
from emulator.server import Emulator, client
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

REGION = "us-east-1"
SECRET_ACCESS_KEY = "CliSecretKey/MustNeverBeLogged+0123456789abcdefghij"
SESSION_TOKEN = "CliSessionToken/MustNeverBeLoggedEither/0123456789"


def test_the_cli_at_debug_logs_requests_without_their_credentials(emulator: Emulator, tmp_path: Path) -> None:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environ.update(
        PYTHONPATH=str(REPO_ROOT),
        LOG_VERBOSITY="DEBUG",
        AWS_ENDPOINT_URL=emulator.endpoint_url,
        AWS_ACCESS_KEY_ID="AKIACLIDEBUGSCAN0001",
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_SESSION_TOKEN=SESSION_TOKEN,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
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
    written = [path.read_text() for path in output.iterdir()]
    assert written
    for text in (done.stdout, done.stderr, *written):
        assert SESSION_TOKEN not in text
        assert SECRET_ACCESS_KEY not in text


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
