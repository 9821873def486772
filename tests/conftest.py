"""Airflow must not touch ~/airflow: every test session gets its own AIRFLOW_HOME, set before import."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from emulator.server import Emulator

REPO_ROOT = Path(__file__).resolve().parents[1]

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="ecr-report-airflow-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AIRFLOW_VAR_ECR_REPORT_CONFIG", "AIRFLOW_CONN_AWS_DEFAULT"):
    os.environ.pop(name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)


@pytest.fixture(scope="module")
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A fresh, empty emulator per test module (starting one resets moto); a module may set
    ``EMULATOR_OPTIONS``, the ``Emulator`` keyword arguments it needs. Folders whose modules share
    one emulator (integration, operators) override this in their conftest."""
    from emulator.server import Emulator  # after the environment above is set

    with Emulator(**getattr(request.module, "EMULATOR_OPTIONS", {})) as running:
        yield running
