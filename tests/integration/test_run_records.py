"""The DAG's run records end to end in the emulator: the run manifest, the date's generation replaced
as a set, the alert sent once per date, objects under the run's KMS key, and no secret in any log (DEBUG
included), XCom or object a run leaves.

Runs are ``dag.test()`` in process without task retries, as one AWS identity whose keys
and session token are distinctive, so a leak of either is found by a plain search. Needs the
``run_manifest`` task and the notification marker arguments wired in ``dags/ecr_report.py``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import ecr_provider
from ecr_provider.core.columns import (
    FINDINGS_REPORT,
    IMAGES_REPORT,
    REGISTRIES_REPORT,
    REPORTS,
    REPOSITORIES_REPORT,
    reports_written,
)
from ecr_provider.core.layout import (
    breaches_key,
    generation_manifest_key,
    notification_marker_key,
    outcomes_key,
    partition_prefix,
    plan_key,
    preflight_key,
    report_key,
    run_manifest_key,
)
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination, receive_notifications
from emulator.server import Emulator, client
from tests.integration.conftest import REGION, REPORT_DATE, DagRunResult, RunDag, as_identity

pytestmark = pytest.mark.integration

PREFIX = "run-records"
DATABASE = "run_records"
OTHER_REGION = "eu-west-1"
GONE_ACCOUNT = "999999999999"
SECRET_ACCESS_KEY = "EcrReportSecretKey/MustNeverBeLogged+0123456789abc"
SESSION_TOKEN = "EcrReportSessionToken/MustNeverBeLoggedEither/0123456789"
NEEDLES = (SECRET_ACCESS_KEY, SESSION_TOKEN, "X-Amz-Signature")


class Runs:
    """Runs the DAG for one report date and keeps every run's output for the secrets scan."""

    def __init__(self, emulator: Emulator, destination: ReportDestination, dag_runner: RunDag) -> None:
        self.emulator = emulator
        self.destination = destination
        self.dag_runner = dag_runner
        self.environ = as_identity(
            emulator.endpoint_url, "AKIAECRREPORTSCAN001", SECRET_ACCESS_KEY, SESSION_TOKEN
        )
        self.outputs: list[str] = []

    def run(
        self, regions: list[str], *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> DagRunResult:
        """One run as the module's identity; ``environ`` adds to its environment."""
        conf = {
            "regions": regions,
            "report_bucket": self.destination.bucket,
            "report_prefix": PREFIX,
            "athena_database": DATABASE,
            "storage_threshold_gb": 5,
            "sns_topic_arn": self.destination.topic_arn,
            **overrides,
        }
        result = self.dag_runner(conf, REPORT_DATE, {**self.environ, **(environ or {})})
        self.outputs.append(result.output)
        return result

    def s3(self) -> Any:
        return client("s3", self.emulator.endpoint_url, REGION)

    def json_object(self, key: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            self.s3().get_object(Bucket=self.destination.bucket, Key=key)["Body"].read()
        )
        return document

    def partition_keys(self) -> list[str]:
        return sorted(
            item["Key"]
            for report in reports_written(include_findings=False)  # as every run of this module
            for item in self.s3()
            .list_objects_v2(
                Bucket=self.destination.bucket, Prefix=partition_prefix(PREFIX, report, REPORT_DATE)
            )
            .get("Contents", [])
        )

    def notifications(self) -> list[dict[str, Any]]:
        return receive_notifications(self.emulator.endpoint_url, REGION, self.destination.queue_url)


@pytest.fixture(scope="module")
def runs(
    emulator: Emulator,
    destination: ReportDestination,
    dag_runner: RunDag,
    demo_registry: DemoRegistry,
) -> Iterator[Runs]:
    records = Runs(emulator, destination, dag_runner)
    records.notifications()
    yield records
    emulator.inject_faults({})


GONE_FINDINGS = report_key(PREFIX, FINDINGS_REPORT, REPORT_DATE, GONE_ACCOUNT, REGION, generation=None)


@pytest.fixture(scope="module")
def stale_keys(runs: Runs) -> list[str]:
    """Parts of a registry that an earlier run of the date, before generations, reported and this one
    no longer does; its image_findings part stays, as these runs write no findings."""
    keys = [
        report_key(PREFIX, report, REPORT_DATE, GONE_ACCOUNT, REGION, generation=None) for report in REPORTS
    ]
    for key in keys:
        runs.s3().put_object(Bucket=runs.destination.bucket, Key=key, Body=b"repositoryName\r\nold\r\n")
    return sorted(key for key in keys if key != GONE_FINDINGS)


@pytest.fixture(scope="module")
def complete_run(runs: Runs, stale_keys: list[str]) -> dict[str, Any]:
    run = runs.run([REGION])
    assert (run.state, run.task_states["run_manifest"]) == ("success", "success"), run.tail()
    return {
        "manifest": runs.json_object(run_manifest_key(PREFIX, REPORT_DATE)),
        "notifications": runs.notifications(),
    }


def test_the_manifest_records_a_complete_run(
    complete_run: dict[str, Any], demo_registry: DemoRegistry, stale_keys: list[str], runs: Runs
) -> None:
    manifest = complete_run["manifest"]
    generation = manifest["generation"]
    assert manifest["complete"] is True
    assert (manifest["report_date"], manifest["as_of"]) == (REPORT_DATE, "2026-11-20T00:00:00+00:00")
    assert manifest["code_version"] == ecr_provider.__version__
    assert manifest["targets"] == [
        {
            "account_id": demo_registry.account_id,
            "region": REGION,
            "role_arn": None,
            "status": "loaded",
            "keys": {  # include_findings is off: no image_findings object of its own
                report: report_key(
                    PREFIX, report, REPORT_DATE, demo_registry.account_id, REGION, generation=generation
                )
                for report in (REPOSITORIES_REPORT, IMAGES_REPORT, REGISTRIES_REPORT)
            },
            "repositories": len(demo_registry.repositories),
            "images": len(demo_registry.images),
            "findings": None,
            "skipped": [],
            "error": None,
            "findings_error": None,
        }
    ]
    assert manifest["removed_objects"] == []
    assert not set(stale_keys) & set(runs.partition_keys())  # collected once the generation is visible
    assert manifest["reports"] == [REPOSITORIES_REPORT, IMAGES_REPORT, REGISTRIES_REPORT]
    findings = runs.s3().list_objects_v2(
        Bucket=runs.destination.bucket, Prefix=partition_prefix(PREFIX, FINDINGS_REPORT, REPORT_DATE)
    )
    assert [item["Key"] for item in findings["Contents"]] == [GONE_FINDINGS]


def test_the_date_holds_exactly_the_objects_the_manifest_names(
    complete_run: dict[str, Any], runs: Runs
) -> None:
    assert runs.partition_keys() == sorted(complete_run["manifest"]["targets"][0]["keys"].values())


def test_the_alert_goes_out_once_and_a_rerun_does_not_repeat_it(
    complete_run: dict[str, Any], runs: Runs
) -> None:
    assert len(complete_run["notifications"]) == 1
    before = {
        key: runs.s3().get_object(Bucket=runs.destination.bucket, Key=key)["Body"].read()
        for key in runs.partition_keys()
    }

    run = runs.run([REGION])

    assert run.state == "success", run.tail()
    assert runs.notifications() == []
    assert "already sent" in run.output
    after = {
        key: runs.s3().get_object(Bucket=runs.destination.bucket, Key=key)["Body"].read()
        for key in runs.partition_keys()
    }
    assert list(after.values()) == list(before.values())  # the same bytes, under the rerun's generation
    rerun = runs.json_object(run_manifest_key(PREFIX, REPORT_DATE))
    assert rerun["generation"] > complete_run["manifest"]["generation"]
    assert runs.partition_keys() == sorted(rerun["targets"][0]["keys"].values())


def test_force_resend_sends_the_dates_alert_again(complete_run: dict[str, Any], runs: Runs) -> None:
    run = runs.run([REGION], force_resend_notification=True)

    assert run.state == "success", run.tail()
    resent = runs.notifications()
    assert len(resent) == 1
    marker = runs.json_object(notification_marker_key(PREFIX, REPORT_DATE))
    assert (marker["message_id"], marker["resent"]) == (resent[0]["MessageId"], True)


def test_a_failed_registry_makes_the_run_incomplete_and_leaves_the_complete_date_as_it_was(
    complete_run: dict[str, Any], runs: Runs, emulator: Emulator, demo_registry: DemoRegistry
) -> None:
    visible = runs.json_object(run_manifest_key(PREFIX, REPORT_DATE))
    earlier = runs.partition_keys()
    emulator.inject_faults({"ecr:DescribeRepositories": ["denied"]})

    run = runs.run([REGION, OTHER_REGION])

    emulator.inject_faults({})
    assert (run.state, run.task_states["run_manifest"]) == ("failed", "failed"), run.tail()
    # Both registries are one batch: its task fails, after the other registry loaded.
    assert [s for task, s in run.task_states.items() if task.startswith("registry_report[")] == ["failed"]
    assert "1 of 2 registries of batch 0 failed" in run.output
    assert runs.json_object(run_manifest_key(PREFIX, REPORT_DATE)) == visible
    assert runs.partition_keys() == earlier  # the failed run's generation is collected
    generation = runs.json_object(plan_key(PREFIX, REPORT_DATE))["generation"]
    manifest = runs.json_object(generation_manifest_key(PREFIX, REPORT_DATE, generation))
    assert [target["status"] for target in manifest["targets"]].count("loaded") == 1
    assert manifest["complete"] is False
    failed = [target for target in manifest["targets"] if target["status"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["error"] == (
        "AwsCallError: ecr:DescribeRepositories failed with AccessDeniedException: "
        "User is not authorized to perform: ecr:DescribeRepositories"
    )
    assert manifest["removed_objects"] == []  # the denied registry wrote nothing
    assert f"Report date {REPORT_DATE} is incomplete: 1 of 2 registries failed" in run.output
    assert "the date's previous complete state stays visible" in run.output


def test_a_rerun_once_fixed_completes_the_date(runs: Runs, demo_registry: DemoRegistry) -> None:
    run = runs.run([REGION, OTHER_REGION])

    assert run.state == "success", run.tail()
    manifest = runs.json_object(run_manifest_key(PREFIX, REPORT_DATE))
    assert manifest["complete"] is True
    assert [target["region"] for target in manifest["targets"]] == [REGION, OTHER_REGION]
    assert runs.partition_keys() == sorted(
        key for target in manifest["targets"] for key in target["keys"].values()
    )


KMS_PREFIX = f"{PREFIX}-kms"


def test_with_report_kms_key_id_every_object_the_run_writes_is_under_the_key(
    runs: Runs, demo_registry: DemoRegistry
) -> None:
    """Preflight record, reports, outcome records, run manifest, alert marker and manifest cache: a
    prefix of its own, so every object under it is one this run wrote."""
    key = client("kms", runs.emulator.endpoint_url, REGION).create_key(Description="ecr-report")[
        "KeyMetadata"
    ]

    run = runs.run([REGION], report_prefix=KMS_PREFIX, report_kms_key_id=key["Arn"], read_manifests="always")

    assert run.state == "success", run.tail()
    generation = runs.json_object(run_manifest_key(KMS_PREFIX, REPORT_DATE))["generation"]
    s3 = runs.s3()
    listed = s3.list_objects_v2(Bucket=runs.destination.bucket, Prefix=f"{KMS_PREFIX}/")["Contents"]
    written = {item["Key"] for item in listed}
    assert {
        preflight_key(KMS_PREFIX, REPORT_DATE),
        run_manifest_key(KMS_PREFIX, REPORT_DATE),
        generation_manifest_key(KMS_PREFIX, REPORT_DATE, generation),
        plan_key(KMS_PREFIX, REPORT_DATE),
        outcomes_key(KMS_PREFIX, REPORT_DATE, 0),
        breaches_key(KMS_PREFIX, REPORT_DATE, generation),
        notification_marker_key(KMS_PREFIX, REPORT_DATE),
        *(
            report_key(
                KMS_PREFIX, report, REPORT_DATE, demo_registry.account_id, REGION, generation=generation
            )
            for report in (REPOSITORIES_REPORT, IMAGES_REPORT)
        ),
    } < written
    assert any(name.startswith(f"{KMS_PREFIX}/_manifest_cache/") for name in written)
    heads = {name: s3.head_object(Bucket=runs.destination.bucket, Key=name) for name in written}
    assert {
        name: (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) for name, head in heads.items()
    } == (dict.fromkeys(written, ("aws:kms", key["Arn"])))
    assert len(runs.notifications()) == 1  # the prefix's first alert, marked under the key


@contextlib.contextmanager
def debug_logging() -> Iterator[None]:
    """Everything at DEBUG for one run: Airflow's and the provider's loggers, botocore's (which logs
    each request's headers and each response's body) and urllib3's."""
    loggers = [
        logging.getLogger(name) for name in ("", "airflow", "botocore", "boto3", "urllib3", "ecr_provider")
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def test_no_secret_or_presigned_url_in_logs_xcom_or_objects(runs: Runs, airflow_database: Path) -> None:
    """Last: a run at DEBUG, then scans the output of every run (task logs included), the XComs and
    everything written. The runs succeeded with the connection as the only credentials, so its secret
    key and token were in use, and the DEBUG run logged every request botocore signed."""
    with debug_logging():
        run = runs.run([REGION], environ={"AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG"})
    assert run.state == "success", run.tail()
    assert "DEBUG [botocore.endpoint] Sending http request" in run.output
    assert "'X-Amz-Security-Token': b'***'" in run.output  # logged, and redacted
    assert runs.outputs
    with sqlite3.connect(airflow_database) as database:
        xcoms = [
            str(value) for (value,) in database.execute("SELECT value FROM xcom WHERE dag_id = 'ecr_report'")
        ]
    s3 = runs.s3()
    listed = s3.list_objects_v2(Bucket=runs.destination.bucket, Prefix=f"{PREFIX}/").get("Contents", [])
    objects = [
        s3.get_object(Bucket=runs.destination.bucket, Key=item["Key"])["Body"]
        .read()
        .decode("utf-8", "replace")
        for item in listed
    ]
    assert xcoms
    assert len(objects) >= 4
    for where, texts in {
        "task logs": runs.outputs,
        "XCom": xcoms,
        "S3 objects": objects,
    }.items():
        for needle in NEEDLES:
            assert not [text for text in texts if needle in text], f"{needle!r} found in {where}"
