"""The DAG on a real deployment: the scheduler's own run, a REST API v2 trigger with a partial conf, and
bad values refused by the API or failed at once by ``resolve_settings``, naming them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_provider.core.columns import FINDINGS_REPORT, REPORTS
from ecr_provider.core.layout import report_key
from ecr_provider.core.settings import DEFAULTS
from emulator.destination import receive_notifications
from emulator.server import ACCOUNT_ID, client
from tests.deployment.conftest import DAG_ID, REGION, AwsEmulator, Deployment, error_lines, wait_for

pytestmark = [pytest.mark.deployment, pytest.mark.integration]

PREFIX = DEFAULTS["report_prefix"]


def runs_of_type(deployment: Deployment, run_type: str) -> list[dict[str, Any]]:
    response = deployment.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"run_type": run_type})
    response.raise_for_status()
    runs: list[dict[str, Any]] = response.json()["dag_runs"]
    return runs


def bucket_keys(aws: AwsEmulator) -> set[str]:
    s3 = client("s3", aws.endpoint_url, REGION)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=aws.destination.bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def read_json(aws: AwsEmulator, key: str) -> Any:
    s3 = client("s3", aws.endpoint_url, REGION)
    return json.loads(s3.get_object(Bucket=aws.destination.bucket, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def scheduled_run(deployment: Deployment) -> dict[str, Any]:
    """Unpaused through the REST API, the DAG gets its scheduled run from the scheduler alone."""
    assert deployment.api.get(f"/api/v2/dags/{DAG_ID}").json()["is_paused"] is True
    response = deployment.api.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
    assert response.status_code == 200, response.text
    created = wait_for(
        "the scheduler to create the scheduled run", lambda: runs_of_type(deployment, "scheduled"), 120
    )
    return deployment.wait_for_run(created[0]["dag_run_id"])


@pytest.fixture(scope="module")
def report_date(scheduled_run: dict[str, Any]) -> str:
    """A scheduled run reports the date its data interval ends on."""
    return str(scheduled_run["data_interval_end"])[:10]


@pytest.fixture(scope="module")
def triggered_run(deployment: Deployment, report_date: str) -> dict[str, Any]:
    """A manual run of the same date with two params: the rest come from ``ecr_report_config``."""
    response = deployment.trigger({"report_date": report_date, "include_findings": True})
    assert response.status_code == 200, response.text
    return deployment.wait_for_run(response.json()["dag_run_id"])


def test_scheduler_creates_and_runs_the_scheduled_run(
    deployment: Deployment, scheduled_run: dict[str, Any]
) -> None:
    assert scheduled_run["run_type"] == "scheduled"
    states = deployment.task_states(scheduled_run["dag_run_id"])
    assert scheduled_run["state"] == "success", states
    assert states["resolve_settings"] == "success"
    assert states["run_manifest"] == "success"
    assert set(states.values()) == {"success"}, states


def test_trigger_with_a_partial_conf_succeeds(deployment: Deployment, triggered_run: dict[str, Any]) -> None:
    states = deployment.task_states(triggered_run["dag_run_id"])
    assert triggered_run["state"] == "success", states
    assert triggered_run["run_type"] == "manual"
    assert set(triggered_run["conf"]) == {"report_date", "include_findings"}
    # The date's alert went out with the scheduled run; this run finds it sent and skips it.
    assert {state for task, state in states.items() if state != "success"} <= {"skipped"}, states


def test_both_runs_write_the_date_and_send_one_alert(
    aws: AwsEmulator, report_date: str, triggered_run: dict[str, Any]
) -> None:
    keys = bucket_keys(aws)
    manifest = read_json(aws, f"{PREFIX}/_runs/report_date={report_date}/manifest.json")
    generation = manifest["generation"]  # the triggered run's, which wrote every report
    expected = {
        report_key(PREFIX, report, report_date, ACCOUNT_ID, REGION, generation=generation)
        for report in REPORTS
    }
    assert expected <= keys, sorted(keys)
    assert set(manifest["reports"]) == set(REPORTS)
    assert FINDINGS_REPORT in manifest["reports"]  # only the triggered run asked for findings
    alerts = receive_notifications(aws.endpoint_url, REGION, aws.destination.queue_url)
    assert len(alerts) == 1, alerts
    assert alerts[0]["Subject"].startswith(f"ECR report {report_date}:")


def test_successful_runs_log_no_errors(
    deployment: Deployment, scheduled_run: dict[str, Any], triggered_run: dict[str, Any]
) -> None:
    logged = deployment.component_logs()
    for run in (scheduled_run, triggered_run):
        task_logs = deployment.task_logs(run["dag_run_id"])
        assert "task_id=resolve_settings/attempt=1.log" in task_logs, sorted(task_logs)
        logged.update({f"{run['dag_run_id']}/{path}": text for path, text in task_logs.items()})
    errors = {source: error_lines(text) for source, text in logged.items()}
    assert not {source: lines for source, lines in errors.items() if lines}


def test_a_value_the_form_schema_refuses_is_a_400_and_no_run(
    deployment: Deployment, triggered_run: dict[str, Any]
) -> None:
    before = len(runs_of_type(deployment, "manual"))
    response = deployment.trigger({"storage_threshold_gb": -1})
    assert response.status_code == 400, response.text
    assert "storage_threshold_gb" in response.text
    assert len(runs_of_type(deployment, "manual")) == before


def test_a_bad_value_fails_resolve_settings_at_once_naming_it(
    deployment: Deployment, triggered_run: dict[str, Any]
) -> None:
    response = deployment.trigger({"regions": ["mars-east-9"]})
    assert response.status_code == 200, response.text
    run = deployment.wait_for_run(response.json()["dag_run_id"], timeout=120)
    states = deployment.task_states(run["dag_run_id"])
    assert run["state"] == "failed"
    assert states["resolve_settings"] == "failed"
    assert states["run_manifest"] == "skipped"
    instance = deployment.api.get(
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/resolve_settings"
    ).json()
    assert instance["try_number"] == 1, "a bad value must not be retried"
    log = deployment.api.get(
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/resolve_settings/logs/1",
        headers={"Accept": "application/json"},
    )
    assert log.status_code == 200, log.text
    assert "Invalid settings" in log.text
    assert "mars-east-9" in log.text
