"""A registry's role is assumed with the amazon provider's refreshable credentials: the connection's
``assume_role_kwargs`` apply, and credentials about to expire are fetched again while a run goes on."""

from __future__ import annotations

import json

import pytest
from moto.sts.models import sts_backends

from ecr_provider.hooks.ecr_registry import EcrRegistryHook
from emulator.server import Emulator

pytestmark = pytest.mark.integration

MEMBER = "222222222222"
ROLE = f"arn:aws:iam::{MEMBER}:role/ecr-report"
SHORTEST_SESSION = 900
"""STS's shortest role session, in seconds: inside botocore's 15-minute refresh window from the start,
so every use of the credentials renews them, as an hour-long run does once its session runs out."""


def assumed(role_arn: str) -> list[object]:
    return [role for role in sts_backends[MEMBER]["aws"].assumed_roles if role.role_arn == role_arn]


@pytest.fixture
def connection(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    extra = {
        "endpoint_url": emulator.endpoint_url,
        "region_name": "us-east-1",
        "assume_role_kwargs": {"ExternalId": "ecr-report-42", "DurationSeconds": SHORTEST_SESSION},
    }
    monkeypatch.setenv("AIRFLOW_CONN_ROLES", json.dumps({"conn_type": "aws", "extra": extra}))
    return "roles"


def test_the_registry_is_read_as_its_role_with_the_connections_assume_role_kwargs(connection: str) -> None:
    hook = EcrRegistryHook(aws_conn_id=connection, region_name="us-east-1", role_arn=ROLE)

    identity = hook.registry_client("sts").get_caller_identity()

    assert identity["Account"] == MEMBER
    assert identity["Arn"] == f"arn:aws:sts::{MEMBER}:assumed-role/ecr-report/ecr-report"
    (role, *_) = assumed(ROLE)
    assert (role.external_id, role.session_name) == ("ecr-report-42", "ecr-report")  # type: ignore[attr-defined]


def test_credentials_that_run_out_are_renewed_and_reading_goes_on(connection: str) -> None:
    hook = EcrRegistryHook(aws_conn_id=connection, region_name="us-east-1", role_arn=f"{ROLE}-long-run")
    ecr = hook.registry_client("ecr")
    before = len(assumed(f"{ROLE}-long-run"))

    for _ in range(3):
        assert ecr.describe_repositories()["repositories"] == []

    assert len(assumed(f"{ROLE}-long-run")) - before >= 3  # the first session, then renewals
