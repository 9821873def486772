"""Every client the hooks build keeps the connection's own botocore settings and has a connection pool
at least as large as the threads that share it (no "Connection pool is full" under concurrency)."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config

from ecr_provider.aws.ecr import pool_size
from ecr_provider.hooks.ecr_registry import EcrRegistryHook
from ecr_provider.hooks.report_lake import ReportLakeHook

READ_TIMEOUT = 7


@pytest.fixture(autouse=True)
def tuned_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {
        "region_name": "eu-west-1",
        "config_kwargs": {"read_timeout": READ_TIMEOUT, "connect_timeout": 3},
    }
    monkeypatch.setenv("AIRFLOW_CONN_TUNED", json.dumps({"conn_type": "aws", "extra": extra}))


@pytest.mark.parametrize("service", ["ecr", "inspector2", "sts"])
def test_registry_clients_keep_the_connections_settings_and_pool_every_reader(service: str) -> None:
    hook = EcrRegistryHook(aws_conn_id="tuned", region_name="eu-west-1", max_concurrency=40)

    config = hook.registry_client(service).meta.config

    assert (config.read_timeout, config.connect_timeout) == (READ_TIMEOUT, 3)
    assert config.max_pool_connections == 42 == pool_size(40)
    assert config.retries["total_max_attempts"] == 11  # botocore counts the first attempt too


def test_the_operators_botocore_config_wins_over_the_retry_defaults() -> None:
    hook = EcrRegistryHook(
        aws_conn_id="tuned",
        region_name="eu-west-1",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )

    config = hook.conn.meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert config.max_pool_connections == pool_size(hook.max_concurrency)


def test_the_lake_hook_lays_its_tuning_over_the_connections_settings() -> None:
    lake = ReportLakeHook(aws_conn_id="tuned", tuning=Config(max_pool_connections=66))

    config = lake.conn.meta.config

    assert (config.read_timeout, config.connect_timeout, config.max_pool_connections) == (READ_TIMEOUT, 3, 66)
    assert ReportLakeHook(aws_conn_id="tuned").conn.meta.config.max_pool_connections == 10


def test_one_hook_serves_its_accounts_registries_in_every_region_from_one_session_and_loader() -> None:
    """An account's registries share its credentials (one session per hook), and every session of the
    task one botocore loader, so a service model is parsed once per task, not once per registry."""
    hook = EcrRegistryHook(aws_conn_id="tuned", region_name="eu-west-1")
    other = EcrRegistryHook(aws_conn_id="tuned", region_name="us-east-1")

    ireland = hook.registry_client("ecr", "eu-west-1")
    virginia = hook.registry_client("ecr", "us-east-1")

    assert (ireland.meta.region_name, virginia.meta.region_name) == ("eu-west-1", "us-east-1")
    sessions = [hook.registry_session, hook.registry_session, other.registry_session]
    assert sessions[0] is sessions[1]
    loaders = {id(session._session.get_component("data_loader")) for session in sessions}
    assert len(loaders) == 1
