"""``ecr-report --upload s3://bucket/prefix`` against the emulator: the objects, generation and manifest
the DAG writes for a date, read back from the emulated bucket; a second upload replaces the date; the
Glue partitions move when the tables read that bucket and prefix; bad values fail before any call."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecr_provider import cli
from ecr_provider.aws.glue_catalog import ReportCatalog
from ecr_provider.core.columns import REPORTS, reports_written
from ecr_provider.core.csv_format import SPREADSHEET, read_canonical
from ecr_provider.core.layout import (
    generation_manifest_key,
    in_progress_key,
    report_key,
    run_manifest_key,
)
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.report_files import report_rows
from emulator.moto_iam import iam_enforced
from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS, Emulator, client
from emulator.synthetic_registry import seed_synthetic_registry
from tests.conftest import REPO_ROOT
from tests.core.test_csv_opencsv import athena_rows

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
REPORT_DATE = "2026-11-01"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
EMPTY_REGION = "ap-southeast-2"
"""A registry without a repository: its objects hold the header alone (but its registries_summary row)."""
BUCKET = "console-lake"
PREFIX = "team/ecr"
DATABASE = "console_reports"
REPORTED = reports_written(False)


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Emulator:
    """Two registries (5 repositories and 40 images; 2 and 10), a bucket, and a Glue database whose
    report tables read ``s3://BUCKET/PREFIX`` (as the DAG's first run makes them)."""
    seed_synthetic_registry(ACCOUNT_ID, REGION, repositories=5, images=40, as_of=AS_OF)
    seed_synthetic_registry(ACCOUNT_ID, OTHER_REGION, repositories=2, images=10, as_of=AS_OF)
    client("s3", emulator.endpoint_url, REGION).create_bucket(Bucket=BUCKET)
    catalog = ReportCatalog(client("glue", emulator.endpoint_url, REGION), DATABASE, BUCKET, PREFIX)
    catalog.ensure_database()
    for report in REPORTED:
        catalog.ensure_table(report)
    return emulator


@pytest.fixture
def console(seeded: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seeded.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_S3_BUCKET", raising=False)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name.upper(), value)
    return seeded


def report(output_dir: Path, *argv: str) -> None:
    fixed = [
        *("--region", REGION, "--as-of", AS_OF.isoformat()),
        *("--price-per-gb-month", "0.10", "--read-manifests", "never"),
    ]
    assert cli.run(["--output-dir", str(output_dir), *fixed, *argv]) == 0


def objects(emulator: Emulator, prefix: str) -> dict[str, bytes]:
    s3 = client("s3", emulator.endpoint_url, REGION)
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def manifest(lake: dict[str, bytes], prefix: str) -> Any:
    return json.loads(lake[run_manifest_key(prefix, REPORT_DATE)])


def partition_rows(emulator: Emulator, report_name: str) -> tuple[str, list[list[str]]]:
    """The Glue partition's location of the date, and the rows Athena reads there (OpenCSVSerde)."""
    glue = client("glue", emulator.endpoint_url, REGION)
    location = glue.get_partition(
        DatabaseName=DATABASE, TableName=report_name, PartitionValues=[REPORT_DATE]
    )["Partition"]["StorageDescriptor"]["Location"]
    under = location.removeprefix(f"s3://{BUCKET}/")
    lake = objects(emulator, under)
    return location, sorted(row for body in lake.values() for row in athena_rows(body.decode("utf-8")))


def test_an_upload_is_the_dags_date_and_a_second_one_replaces_it(console: Emulator, tmp_path: Path) -> None:
    regions = ("--region", OTHER_REGION, "--region", EMPTY_REGION)
    report(tmp_path / "first", *regions, "--upload", f"s3://{BUCKET}/{PREFIX}", "--athena-database", DATABASE)

    lake = objects(console, f"{PREFIX}/")
    first = manifest(lake, PREFIX)
    generation = first["generation"]
    assert first["complete"] is True
    assert first["reports"] == list(REPORTED)
    assert sorted(first["prices"]) == sorted([REGION, OTHER_REGION, EMPTY_REGION])
    keys = {
        region: {
            name: report_key(PREFIX, name, REPORT_DATE, ACCOUNT_ID, region, generation=generation)
            for name in REPORTED
        }
        for region in (REGION, OTHER_REGION, EMPTY_REGION)
    }
    counts = {REGION: (5, 40), OTHER_REGION: (2, 10), EMPTY_REGION: (0, 0)}
    for target in first["targets"]:
        region = target["region"]
        assert (target["account_id"], target["status"]) == (ACCOUNT_ID, "loaded")
        assert (target["repositories"], target["images"]) == counts[region]
        assert target["keys"] == keys[region]
    assert sorted(target["region"] for target in first["targets"]) == sorted(counts)
    assert set(lake) == {
        *(key for registry in keys.values() for key in registry.values()),
        generation_manifest_key(PREFIX, REPORT_DATE, generation),
        run_manifest_key(PREFIX, REPORT_DATE),
    }
    assert (
        lake[generation_manifest_key(PREFIX, REPORT_DATE, generation)]
        == lake[run_manifest_key(PREFIX, REPORT_DATE)]
    )
    for name in REPORTED:
        local = list(report_rows(tmp_path / "first" / f"{name}.csv", SPREADSHEET))
        assert {REGION, OTHER_REGION} <= {row["region"] for row in local}
        for region, registry in keys.items():
            uploaded = list(read_canonical(io.StringIO(lake[registry[name]].decode("utf-8"), newline="")))
            assert uploaded == [row for row in local if row["region"] == region]
            assert lake[registry[name]].startswith(
                ",".join(column.header for column in REPORTS[name]).encode()
            )
        location, read = partition_rows(console, name)
        assert location == f"s3://{BUCKET}/{keys[REGION][name].rsplit('/', 1)[0]}/"
        headers = [column.header for column in REPORTS[name]]
        assert read == sorted([row[header] for header in headers] for row in local)

    report(tmp_path / "second", "--upload", f"s3://{BUCKET}/{PREFIX}/", "--athena-database", DATABASE)

    lake = objects(console, f"{PREFIX}/")
    second = manifest(lake, PREFIX)
    assert second["generation"] != generation
    assert second["complete"] is True
    # the first run's manifest stays as its record, as a DAG run's does; its objects are collected
    assert [key for key in lake if f"generation={generation}" in key] == [
        generation_manifest_key(PREFIX, REPORT_DATE, generation)
    ]
    assert in_progress_key(PREFIX, REPORT_DATE) not in lake
    for name in REPORTED:
        key = report_key(PREFIX, name, REPORT_DATE, ACCOUNT_ID, REGION, generation=second["generation"])
        assert key in lake
        location, _ = partition_rows(console, name)
        assert location == f"s3://{BUCKET}/{key.rsplit('/', 1)[0]}/"


def test_aws_s3_bucket_uploads_under_the_dags_default_prefix_and_the_flag_wins(
    console: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AWS_S3_BUCKET", BUCKET)

    with caplog.at_level(logging.WARNING, logger="ecr_report"):
        report(tmp_path / "env")

    lake = objects(console, "ecr-reports/")
    assert manifest(lake, "ecr-reports")["complete"] is True
    assert "Glue partitions of 2026-11-01 not registered in ecr_reports" in caplog.text
    assert "repositories_summary: no such table" in caplog.text

    report(tmp_path / "flag", "--upload", f"s3://{BUCKET}/flag-wins")

    assert manifest(objects(console, "flag-wins/"), "flag-wins")["complete"] is True
    assert objects(console, "ecr-reports/").keys() == lake.keys()


@pytest.mark.parametrize(
    ("argv", "environment", "named"),
    [
        (["--upload", "http://x/reports"], {}, "'http://x/reports'"),
        (["--upload", "s3://"], {}, "'s3://'"),
        (["--upload", "s3:///reports"], {}, "'s3:///reports'"),
        (["--upload", "s3://Bad_Bucket/reports"], {}, "'Bad_Bucket'"),
        (["--upload", "s3://bucket//reports"], {}, "'/reports'"),
        (["--upload", "s3://bucket/x", "--athena-database", "Bad-Name"], {}, "'Bad-Name'"),
        ([], {"AWS_S3_BUCKET": "s3://bucket"}, "'s3://bucket'"),
        (["--upload", "s3://bucket/x", "--repository", "team/api"], {}, "'team/api'"),
        (["--repository", "team/api"], {"AWS_S3_BUCKET": "bucket"}, "s3://bucket/ecr-reports"),
    ],
)
def test_bad_upload_values_fail_before_any_call(
    argv: list[str],
    environment: dict[str, str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The endpoint is unreachable: a call would fail with another message and code."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_S3_BUCKET", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SystemExit) as caught:
        cli.run(["--output-dir", str(tmp_path / "out"), "--region", REGION, *argv])

    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("ecr-report: error: ")
    assert named in error
    assert not (tmp_path / "out").exists()


def test_a_failed_upload_leaves_the_dates_previous_state_visible(
    console: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """S3 refuses the second report object: the date keeps the first upload's generation, the local
    files are written, and the next upload collects what the failed one left."""
    prefix = "failed-upload"
    report(tmp_path / "first", "--upload", f"s3://{BUCKET}/{prefix}")
    before = objects(console, f"{prefix}/")
    written = ReportLakeHook.write_file
    calls = []

    def refused_second(hook: ReportLakeHook, bucket: str, key: str, path: Path) -> None:
        calls.append(key)
        if len(calls) == 2:
            console.inject_faults({"s3:PutObject": ["denied"]})
        written(hook, bucket, key, path)

    monkeypatch.setattr(ReportLakeHook, "write_file", refused_second)
    with pytest.raises(SystemExit) as caught:
        report(tmp_path / "failed", "--upload", f"s3://{BUCKET}/{prefix}")

    assert caught.value.code == 1
    error = capsys.readouterr().err
    assert f"upload to s3://{BUCKET}/{prefix} failed" in error
    assert f"s3:PutObject on s3://{BUCKET}/{calls[1]}" in error
    assert (tmp_path / "failed" / "repositories_summary.csv").exists()
    after = objects(console, f"{prefix}/")
    assert manifest(after, prefix) == manifest(before, prefix)
    assert {key: after[key] for key in before} == before
    left = sorted(set(after) - set(before))
    assert left == sorted([calls[0], in_progress_key(prefix, REPORT_DATE)])

    monkeypatch.setattr(ReportLakeHook, "write_file", written)
    report(tmp_path / "again", "--upload", f"s3://{BUCKET}/{prefix}")

    again = objects(console, f"{prefix}/")
    assert calls[0] not in again
    assert in_progress_key(prefix, REPORT_DATE) not in again
    assert manifest(again, prefix)["generation"] not in (
        manifest(before, prefix)["generation"],
        calls[0].split("generation=")[1].split("/")[0],
    )


def test_tables_reading_another_prefix_keep_their_partitions(
    console: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database's tables read ``PREFIX``: an upload elsewhere must not move their partitions."""
    report(tmp_path / "lake", "--upload", f"s3://{BUCKET}/{PREFIX}", "--athena-database", DATABASE)
    before = {name: partition_rows(console, name)[0] for name in REPORTED}

    with caplog.at_level(logging.WARNING, logger="ecr_report"):
        report(tmp_path / "elsewhere", "--upload", f"s3://{BUCKET}/elsewhere", "--athena-database", DATABASE)

    assert {name: partition_rows(console, name)[0] for name in REPORTED} == before
    assert (
        f"repositories_summary: the table reads s3://{BUCKET}/{PREFIX}/repositories_summary/" in caplog.text
    )
    assert manifest(objects(console, "elsewhere/"), "elsewhere")["complete"] is True


def test_the_command_keeps_its_logging_when_the_upload_imports_airflow(
    console: Emulator, tmp_path: Path
) -> None:
    """A process of its own (Airflow is imported here already): Airflow's logging set-up, on import,
    would print its hooks' lines on stdout in its own format; every line stays JSON on stderr."""
    environ = {name: value for name, value in os.environ.items() if name != "AWS_S3_BUCKET"}
    environ.update(AIRFLOW_HOME=str(tmp_path / "airflow"), PYTHONWARNINGS="ignore")
    argv = [
        *("--output-dir", str(tmp_path / "out"), "--region", REGION, "--as-of", AS_OF.isoformat()),
        *("--price-per-gb-month", "0.10", "--read-manifests", "never", "--log-format", "json"),
        *("--upload", f"s3://{BUCKET}/subprocess"),
    ]

    done = subprocess.run(
        [sys.executable, "-m", "ecr_provider.cli", *argv],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    messages = [line["message"] for line in lines]
    assert any(message.startswith("No connection ID provided") for message in messages)
    assert any(
        message.startswith(f"Uploaded {REPORT_DATE} to s3://{BUCKET}/subprocess/") for message in messages
    )
    assert re.fullmatch(r"phases: .*, upload \d+\.\d\d s, outcome .*", messages[-2])
    assert manifest(objects(console, "subprocess/"), "subprocess")["complete"] is True


def test_tables_that_may_not_be_read_leave_the_partitions_alone(
    console: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without glue:GetTable the upload is still made; the warning names the refusal."""
    console.inject_faults({"glue:GetTable": ["denied"] * len(REPORTED)})
    try:
        with caplog.at_level(logging.WARNING, logger="ecr_report"):
            report(tmp_path / "out", "--upload", f"s3://{BUCKET}/no-glue", "--athena-database", DATABASE)
    finally:
        console.inject_faults({})

    assert manifest(objects(console, "no-glue/"), "no-glue")["complete"] is True
    [warning] = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert "repositories_summary: glue:GetTable was refused (AccessDeniedException)" in warning


def policy_user(emulator: Emulator, name: str, document: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An IAM user whose one policy is ``document``, its keys the console's only credentials."""
    iam = client("iam", emulator.endpoint_url, REGION)
    iam.create_user(UserName=name)
    policy = iam.create_policy(PolicyName=name, PolicyDocument=document)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def test_an_upload_needs_no_action_beyond_the_dags_policy(
    console: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As an IAM user whose one policy is ``iam/ecr-report-policy.json`` (filled in for this prefix and
    database), IAM enforced: the registry is read, the date uploaded and its partitions moved. The
    same policy less s3:PutObject fails the upload naming it, so the policy is what is enforced."""
    prefix, database = "least-privilege/console", "console_least_privilege"
    catalog = ReportCatalog(client("glue", console.endpoint_url, REGION), database, BUCKET, prefix)
    catalog.ensure_database()
    for name in REPORTED:
        catalog.ensure_table(name)
    text = (REPO_ROOT / "iam" / "ecr-report-policy.json").read_text()
    for placeholder, value in {
        "ACCOUNT_ID": ACCOUNT_ID,
        "REPORT_BUCKET": BUCKET,
        "REPORT_PREFIX": prefix,
        "GLUE_REGION": REGION,
        "ATHENA_DATABASE": database,
        "SNS_TOPIC_NAME": "unused",
    }.items():
        text = text.replace(placeholder, value)
    argv = ["--upload", f"s3://{BUCKET}/{prefix}", "--athena-database", database]
    fixed = ["--region", REGION, "--as-of", AS_OF.isoformat(), "--price-per-gb-month", "0.10"]

    policy_user(console, "ecr-report-console-no-put", text.replace('"s3:PutObject",', ""), monkeypatch)
    with iam_enforced(), pytest.raises(SystemExit) as refused:
        cli.run(["--output-dir", str(tmp_path / "refused"), *fixed, *argv])
    assert refused.value.code == 1
    assert "s3:PutObject" in capsys.readouterr().err
    assert objects(console, f"{prefix}/") == {}

    policy_user(console, "ecr-report-console", text, monkeypatch)
    with iam_enforced():
        report(tmp_path / "out", *argv)

    written = manifest(objects(console, f"{prefix}/"), prefix)
    assert written["complete"] is True
    assert [(target["status"], target["repositories"]) for target in written["targets"]] == [("loaded", 5)]
    glue = client("glue", console.endpoint_url, REGION)
    for name in REPORTED:
        location = glue.get_partition(DatabaseName=database, TableName=name, PartitionValues=[REPORT_DATE])[
            "Partition"
        ]["StorageDescriptor"]["Location"]
        assert location.endswith(f"/generation={written['generation']}/")
