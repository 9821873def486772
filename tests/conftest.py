"""Airflow must not touch ~/airflow: every test session gets its own AIRFLOW_HOME, set before import.

Tests that need the emulator (the ``emulator`` fixture, or the demo lake built in one) are marked
``integration`` here, so ``-m "not integration"`` is the fast loop: no emulator, no Airflow run.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import botocore.loaders
import botocore.session
import jsonschema.validators
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from playwright.sync_api import Browser

    from emulator.server import Emulator
    from tests.queries.lake import Lake

REPO_ROOT = Path(__file__).resolve().parents[1]
EMULATOR_FIXTURES = frozenset({"emulator", "lake", "demo_lake"})

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

# Every AWS hook makes a new botocore session, which parses the service models again (a few tenths of
# a second per client); the DAG's tasks and the operators run in this process, so one loader per data
# path serves them all, as it would serve every client of one long-lived session.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


def _meta_checked_once(validator: type[jsonschema.validators.Draft202012Validator]) -> None:
    """Airflow checks every Param's schema against the JSON Schema meta-schema each time it resolves
    the Param: about 1,500 checks of the same 23 schemas per DAG run, a third of a ``dag.test()`` run's
    CPU. A schema that passed once passes again; the values are still validated every time, and
    tests/test_dag_params.py checks the schemas themselves."""
    check_schema = validator.check_schema
    passed: set[str] = set()

    def check_once(schema: object, *args: object, **kwargs: object) -> None:
        key = json.dumps(schema, sort_keys=True, default=repr)
        if key not in passed:
            check_schema(schema, *args, **kwargs)
            passed.add(key)

    validator.check_schema = staticmethod(check_once)


_meta_checked_once(jsonschema.validators.Draft202012Validator)


@pytest.fixture(scope="module")
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A fresh, empty emulator per test module (starting one resets moto); a module may set
    ``EMULATOR_OPTIONS``, the ``Emulator`` keyword arguments it needs. Folders whose modules share
    one emulator (integration, operators) override this in their conftest."""
    from emulator.server import Emulator  # after the environment above is set

    with Emulator(**getattr(request.module, "EMULATOR_OPTIONS", {})) as running:
        yield running


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The demo reports of four dates laid out as in S3 (tests/queries/lake.py), built once per session:
    building them seeds and reads an emulator of their own, tens of seconds of CPU, and the query,
    plugin and browser tests only read them."""
    from tests.queries.lake import build_lake

    return build_lake(tmp_path_factory.mktemp("lake"))


@pytest.fixture(scope="session")
def auth_tokens() -> dict[str, str]:
    """Tokens of Airflow's own (simple) auth manager, on the session's database (migrated once): a
    viewer may read DAGs, a user without a role not."""
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils.db import initdb

    initdb()
    manager = init_auth_manager()
    return {
        "viewer": manager.generate_jwt(SimpleAuthManagerUser(username="viewer", role="viewer")),
        "nobody": manager.generate_jwt(SimpleAuthManagerUser(username="nobody", role=None)),
    }


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium (tests/chromium.py), launched once for every test that looks at a page."""
    from tests.chromium import chromium

    with chromium() as launched:
        yield launched


def pytest_collection_modifyitems(config: pytest.Config, items: Sequence[pytest.Item]) -> None:
    for item in items:
        if EMULATOR_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
