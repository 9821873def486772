"""RunManifestOperator against the emulator, with the report tasks' outcome records put in S3: which
generation of the date becomes visible (manifest and Glue partitions), and what is collected.

The records a real run's report tasks leave (and ``all_done``) are covered end to end in
``tests/integration/test_run_records.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import pytest

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.core.columns import (
    FINDINGS_REPORT,
    IMAGES_REPORT,
    REGISTRIES_REPORT,
    REPORTS,
    REPOSITORIES_REPORT,
)
from ecr_provider.core.layout import (
    generation_manifest_key,
    in_progress_key,
    outcomes_key,
    plan_key,
    report_key,
    run_manifest_key,
)
from ecr_provider.hooks.report_catalog import ReportCatalogHook
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.run_manifest import RunManifestOperator
from ecr_provider.version_compat import AirflowFailException, AirflowSkipException
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.operators.conftest import AS_OF, GENERATION, REGION, REPORT_DATE

if TYPE_CHECKING:
    from airflow.sdk import Context

pytestmark = pytest.mark.integration

ACCOUNT = "111111111111"
ROLE = "arn:aws:iam::222222222222:role/ecr-report"
TARGETS: list[dict[str, Any]] = [
    {"region_name": REGION, "role_arn": None},
    {"region_name": "eu-west-1", "role_arn": ROLE},
]
DENIED = f"AwsCallError: sts:AssumeRole on {ROLE} failed with AccessDenied: not authorized"


RUN_ID = "manual__2026-11-20T00:00:00+00:00"
PREVIOUS = "20261119T230000Z-00000000"
"""The generation of the date's previous run."""
KILLED = "20261119T235900Z-ffffffff"
"""The generation of a run that was killed before its manifest task."""
PRICES = {REGION: {"standard": "0.10", "archive": None, "source": "override"}}


def context() -> Context:
    return cast("Context", {"run_id": RUN_ID})


def record(
    emulator: Emulator, bucket: str, prefix: str, index: int, summary: Any, error: str | None = None
) -> None:
    """What the report task of batch ``index`` (the plan's target ``index`` alone) leaves for this run."""
    outcome = {
        "index": index,
        "target": TARGETS[index],
        "status": "loaded" if summary else "failed",
        "summary": summary,
        "error": error,
        "breaches": [],
    }
    client("s3", emulator.endpoint_url, REGION).put_object(
        Bucket=bucket,
        Key=outcomes_key(prefix, REPORT_DATE, index),
        Body=json.dumps({"run_id": RUN_ID, "generation": GENERATION, "outcomes": [outcome]}).encode(),
    )


def keys(
    prefix: str, account: str, region: str, generation: str = GENERATION, report_date: str = REPORT_DATE
) -> dict[str, str]:
    return {
        report: report_key(prefix, report, report_date, account, region, generation=generation)
        for report in REPORTS
    }


def summary(prefix: str, account: str, region: str) -> dict[str, Any]:
    return {
        "account_id": account,
        "region": region,
        "report_date": REPORT_DATE,
        "keys": keys(prefix, account, region),
        "repositories": 2,
        "images": 5,
        "skipped": [],
    }


def put(emulator: Emulator, bucket: str, object_keys: Iterable[str]) -> None:
    s3 = client("s3", emulator.endpoint_url, REGION)
    for key in object_keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"repositoryName\r\n")


def listed(emulator: Emulator, bucket: str, prefix: str) -> list[str]:
    s3 = client("s3", emulator.endpoint_url, REGION)
    return sorted(
        item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    )


def plan_run(bucket: str, prefix: str, targets: list[dict[str, Any]] = TARGETS) -> None:
    """The run's plan: ``targets``, one batch each."""
    plan = {
        "run_id": RUN_ID,
        "report_date": REPORT_DATE,
        "generation": GENERATION,
        "targets": targets,
        "batches": [[index] for index in range(len(targets))],
        "prices": PRICES,
    }
    hook = ReportLakeHook(aws_conn_id="emulator")
    hook.write_json(bucket, plan_key(prefix, REPORT_DATE), plan)
    hook.write_json(
        bucket, in_progress_key(prefix, REPORT_DATE), {"run_id": RUN_ID, "generation": GENERATION}
    )


def previous_state(
    emulator: Emulator, bucket: str, prefix: str, *, complete: bool, reports: Iterable[str] = REPORTS
) -> list[str]:
    """The date as a previous run left it visible at ``PREVIOUS``, and a killed run's objects at
    ``KILLED``; returns the previous generation's keys."""
    visible = [keys(prefix, ACCOUNT, REGION, PREVIOUS)[report] for report in reports]
    put(emulator, bucket, [*visible, *keys(prefix, ACCOUNT, REGION, KILLED).values()])
    ReportLakeHook(aws_conn_id="emulator").write_json(
        bucket,
        run_manifest_key(prefix, REPORT_DATE),
        {"complete": complete, "generation": PREVIOUS, "reports": list(reports)},
    )
    return visible


def partition_locations(emulator: Emulator, database: str) -> dict[str, str]:
    glue = client("glue", emulator.endpoint_url, REGION)
    return {
        report: glue.get_partition(DatabaseName=database, TableName=report, PartitionValues=[REPORT_DATE])[
            "Partition"
        ]["StorageDescriptor"]["Location"]
        for report in REPORTS
        if glue.get_partitions(DatabaseName=database, TableName=report)["Partitions"]
    }


def location(bucket: str, prefix: str, report: str, generation: str) -> str:
    return f"s3://{bucket}/{prefix}/{report}/report_date={REPORT_DATE}/generation={generation}/"


def operator(bucket: str, prefix: str, **overrides: Any) -> RunManifestOperator:
    arguments: dict[str, Any] = {
        "report_bucket": bucket,
        "report_prefix": prefix,
        "report_date": REPORT_DATE,
        "as_of": AS_OF.isoformat(),
        **overrides,
    }
    return RunManifestOperator(task_id="run_manifest", aws_conn_id="emulator", **arguments)


def manifest(emulator: Emulator, bucket: str, prefix: str, key: str = "") -> dict[str, Any]:
    """The date's visible manifest, or the one at ``key``."""
    s3 = client("s3", emulator.endpoint_url, REGION)
    document: dict[str, Any] = json.loads(
        s3.get_object(Bucket=bucket, Key=key or run_manifest_key(prefix, REPORT_DATE))["Body"].read()
    )
    return document


def test_a_complete_run_becomes_visible_in_glue_then_the_manifest_and_collects_other_generations(
    emulator: Emulator, destination: ReportDestination
) -> None:
    prefix = "manifest-complete"
    database = "manifest_complete"
    bucket = destination.bucket
    previous_state(emulator, bucket, prefix, complete=True)
    written = [*keys(prefix, ACCOUNT, REGION).values(), *keys(prefix, "222222222222", "eu-west-1").values()]
    other_date = list(keys(prefix, ACCOUNT, REGION, PREVIOUS, "2026-11-19").values())
    put(emulator, bucket, [*written, *other_date])
    plan_run(bucket, prefix)
    record(emulator, bucket, prefix, 0, summary(prefix, ACCOUNT, REGION))
    record(emulator, bucket, prefix, 1, summary(prefix, "222222222222", "eu-west-1"))

    outcome = operator(bucket, prefix, include_findings=True, database=database).execute(context())

    assert outcome == {"manifest_key": run_manifest_key(prefix, REPORT_DATE), "generation": GENERATION}
    own = generation_manifest_key(prefix, REPORT_DATE, GENERATION)
    assert listed(emulator, bucket, prefix) == sorted(
        [*written, *other_date, run_manifest_key(prefix, REPORT_DATE), own, *outcome_keys(prefix, 2)]
    )  # the previous and the killed run's generations are gone, the in-progress mark too
    recorded = manifest(emulator, bucket, prefix)
    assert recorded == manifest(emulator, bucket, prefix, own)
    assert (recorded["complete"], recorded["generation"], recorded["run_id"]) == (True, GENERATION, RUN_ID)
    assert recorded["reports"] == list(REPORTS)
    assert recorded["removed_objects"] == []
    assert partition_locations(emulator, database) == {
        report: location(bucket, prefix, report, GENERATION) for report in REPORTS
    }


def test_a_run_without_findings_leaves_the_dates_findings_where_they_are(
    emulator: Emulator, destination: ReportDestination
) -> None:
    """An earlier run of the date wrote image_findings; this one did not ask for them."""
    prefix = "manifest-no-findings"
    bucket = destination.bucket
    earlier = previous_state(emulator, bucket, prefix, complete=True)
    summaries = {
        report: key for report, key in keys(prefix, ACCOUNT, REGION).items() if report != FINDINGS_REPORT
    }
    put(emulator, bucket, summaries.values())
    plan_run(bucket, prefix, TARGETS[:1])
    record(emulator, bucket, prefix, 0, {**summary(prefix, ACCOUNT, REGION), "keys": summaries})

    operator(bucket, prefix).execute(context())

    earlier_findings = keys(prefix, ACCOUNT, REGION, PREVIOUS)[FINDINGS_REPORT]
    remaining = set(listed(emulator, bucket, f"{prefix}/"))
    assert {earlier_findings, *summaries.values()} <= remaining
    assert not set(earlier) - {earlier_findings} & remaining
    assert manifest(emulator, bucket, prefix)["reports"] == [
        REPOSITORIES_REPORT,
        IMAGES_REPORT,
        REGISTRIES_REPORT,
    ]


def test_a_run_whose_settings_were_never_resolved_is_skipped_saying_so() -> None:
    unresolved: dict[str, Any] = {"report_bucket": None, "report_date": None, "as_of": None}
    task = RunManifestOperator(task_id="run_manifest", **unresolved)
    with pytest.raises(AirflowSkipException, match=r"settings were never resolved \(resolve_settings failed"):
        task.execute(context())


def test_an_incomplete_first_run_is_visible_without_what_the_failed_registry_wrote(
    emulator: Emulator, destination: ReportDestination
) -> None:
    """The failed registry's object that was written before its other one was refused goes."""
    prefix = "manifest-incomplete"
    database = "manifest_incomplete"
    bucket = destination.bucket
    written = list(keys(prefix, ACCOUNT, REGION).values())
    partial = keys(prefix, "222222222222", "eu-west-1")[REPOSITORIES_REPORT]
    put(emulator, bucket, [*written, partial])
    plan_run(bucket, prefix)
    record(emulator, bucket, prefix, 0, summary(prefix, ACCOUNT, REGION))
    record(emulator, bucket, prefix, 1, None, DENIED)

    with pytest.raises(AirflowFailException) as caught:
        operator(bucket, prefix, include_findings=True, database=database).execute(context())

    own = generation_manifest_key(prefix, REPORT_DATE, GENERATION)
    assert str(caught.value) == (
        f"Report date {REPORT_DATE} is incomplete: 1 of 2 registries failed "
        f"(222222222222/eu-west-1: {DENIED}). "
        f"The manifest s3://{bucket}/{own} records it; it is the date's visible state, marked incomplete. "
        "Rerun the date once fixed."
    )
    assert listed(emulator, bucket, f"{prefix}/") == sorted(
        [*written, run_manifest_key(prefix, REPORT_DATE), own, *outcome_keys(prefix, 2)]
    )
    recorded = manifest(emulator, bucket, prefix)
    assert (recorded["complete"], recorded["generation"]) == (False, GENERATION)
    assert recorded["removed_objects"] == [partial]
    assert [(t["status"], t["error"]) for t in recorded["targets"]] == [("loaded", None), ("failed", DENIED)]
    assert partition_locations(emulator, database) == {
        report: location(bucket, prefix, report, GENERATION) for report in REPORTS
    }


def test_an_incomplete_rerun_leaves_the_complete_date_as_it_was_and_its_own_manifest_names_the_failure(
    emulator: Emulator, destination: ReportDestination
) -> None:
    prefix = "manifest-incomplete-rerun"
    database = "manifest_incomplete_rerun"
    bucket = destination.bucket
    earlier = previous_state(emulator, bucket, prefix, complete=True)
    # The partitions as the previous run's manifest task left them.
    ReportCatalogHook(aws_conn_id="emulator").register_report_date(
        database, bucket, prefix, REPORT_DATE, list(REPORTS), generation=PREVIOUS
    )
    before = manifest(emulator, bucket, prefix)
    put(emulator, bucket, [*keys(prefix, ACCOUNT, REGION).values()])
    plan_run(bucket, prefix)
    record(emulator, bucket, prefix, 0, summary(prefix, ACCOUNT, REGION))
    record(emulator, bucket, prefix, 1, None, DENIED)

    with pytest.raises(AirflowFailException, match="the date's previous complete state stays visible"):
        operator(bucket, prefix, include_findings=True, database=database).execute(context())

    own = generation_manifest_key(prefix, REPORT_DATE, GENERATION)
    assert manifest(emulator, bucket, prefix) == before
    assert listed(emulator, bucket, f"{prefix}/") == sorted(
        [*earlier, run_manifest_key(prefix, REPORT_DATE), own, *outcome_keys(prefix, 2)]
    )
    attempt = manifest(emulator, bucket, prefix, own)
    assert (attempt["complete"], attempt["generation"]) == (False, GENERATION)
    assert [(t["status"], t["error"]) for t in attempt["targets"]] == [("loaded", None), ("failed", DENIED)]
    assert partition_locations(emulator, database) == {
        report: location(bucket, prefix, report, PREVIOUS) for report in REPORTS
    }


FINDINGS_DENIED = (
    "AwsCallError: ecr:DescribeImageScanFindings on api@sha256:0 failed with AccessDeniedException: denied"
)


def test_a_registry_without_its_findings_keeps_the_run_incomplete_and_fails_naming_the_action(
    emulator: Emulator, destination: ReportDestination
) -> None:
    prefix = "manifest-findings-failed"
    loaded = summary(prefix, ACCOUNT, REGION)
    other = summary(prefix, "222222222222", "eu-west-1")
    other["keys"].pop(FINDINGS_REPORT)
    put(emulator, destination.bucket, [*loaded["keys"].values(), *other["keys"].values()])
    plan_run(destination.bucket, prefix)
    record(emulator, destination.bucket, prefix, 0, loaded)
    record(emulator, destination.bucket, prefix, 1, {**other, "findings_error": FINDINGS_DENIED})

    with pytest.raises(AirflowFailException) as caught:
        operator(destination.bucket, prefix, include_findings=True).execute(context())

    assert str(caught.value).startswith(
        f"Report date {REPORT_DATE} is incomplete: image_findings of 1 of 2 registries failed "
        f"(222222222222/eu-west-1: {FINDINGS_DENIED}). "
    )
    recorded = manifest(emulator, destination.bucket, prefix)
    assert recorded["complete"] is False
    assert [(t["status"], t["findings_error"]) for t in recorded["targets"]] == [
        ("loaded", None),
        ("loaded", FINDINGS_DENIED),
    ]
    assert recorded["targets"][1]["keys"] == other["keys"]
    assert recorded["removed_objects"] == []


def test_a_refused_delete_fails_before_any_manifest_is_written(
    emulator: Emulator, destination: ReportDestination
) -> None:
    prefix = "manifest-refused"
    partial = keys(prefix, "222222222222", "eu-west-1")[REPOSITORIES_REPORT]
    put(emulator, destination.bucket, [partial])
    plan_run(destination.bucket, prefix)
    record(emulator, destination.bucket, prefix, 0, summary(prefix, ACCOUNT, REGION))
    record(emulator, destination.bucket, prefix, 1, None, DENIED)
    emulator.inject_faults({"s3:DeleteObject": ["denied"]})

    with pytest.raises(
        AwsCallError, match=rf"s3:DeleteObject on s3://{destination.bucket}/{prefix}/.+ AccessDenied"
    ):
        operator(destination.bucket, prefix).execute(context())

    assert listed(emulator, destination.bucket, f"{prefix}/") == sorted(
        [partial, in_progress_key(prefix, REPORT_DATE), *outcome_keys(prefix, 2)]
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"report_bucket": "Bad_Bucket"}, "report_bucket 'Bad_Bucket'"),
        ({"report_prefix": "p/"}, "report_prefix 'p/'"),
        ({"as_of": "2999-01-01T00:00:00+00:00"}, "2999-01-01"),
    ],
)
def test_bad_arguments_are_refused_naming_the_value(
    overrides: dict[str, Any], named: str, destination: ReportDestination
) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        operator(destination.bucket, "p", **overrides).execute(context())


def test_a_run_without_its_plan_fails_saying_which_task_writes_it(destination: ReportDestination) -> None:
    """The targets task of this run failed, or another run's plan is there: no registry list to check."""
    with pytest.raises(
        ValueError, match=r"no run plan at .+: the registry_targets task of this run did not write it"
    ):
        operator(destination.bucket, "manifest-without-plan").execute(context())


def outcome_keys(prefix: str, count: int) -> list[str]:
    """The run's records beside the manifest: its plan and each task's outcomes."""
    return [
        plan_key(prefix, REPORT_DATE),
        *(outcomes_key(prefix, REPORT_DATE, index) for index in range(count)),
    ]
