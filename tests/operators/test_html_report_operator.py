"""HtmlReportOperator: the date's page written beside its CSVs, at the generation its manifest makes
visible, saying whether the date is whole or being rewritten."""

from __future__ import annotations

import html
from typing import Any

import pytest

from ecr_provider.core.columns import REPOSITORIES_REPORT
from ecr_provider.core.layout import html_report_key, in_progress_key, report_key, run_manifest_key
from ecr_provider.hooks.report_lake import BEING_REWRITTEN, INCOMPLETE, NO_MANIFEST, ReportLakeHook
from ecr_provider.operators.html_report import HtmlReportOperator
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.operators.conftest import (
    GENERATION,
    REGION,
    REPORT_DATE,
    lake_arguments,
    plan_one_registry,
    report_one,
    task_context,
)

PREFIX = "operator-html"


def html_operator(bucket: str, **arguments: Any) -> HtmlReportOperator:
    return HtmlReportOperator(task_id="html_report", **{**lake_arguments(bucket, PREFIX), **arguments})


def page(emulator: Emulator, bucket: str) -> str:
    s3 = client("s3", emulator.endpoint_url, REGION)
    body: bytes = s3.get_object(Bucket=bucket, Key=html_report_key(PREFIX, REPORT_DATE))["Body"].read()
    return body.decode("utf-8")


@pytest.fixture(scope="module")
def reported(destination: ReportDestination, registry: DemoRegistry) -> list[dict[str, str]]:
    """The registry reported once under the prefix; its repositories_summary rows."""
    plan_one_registry(destination.bucket, PREFIX)
    report_one(destination.bucket, PREFIX)
    key = report_key(
        PREFIX, REPOSITORIES_REPORT, REPORT_DATE, registry.account_id, REGION, generation=GENERATION
    )
    return list(ReportLakeHook(aws_conn_id="emulator").read_report_rows(destination.bucket, key))


def costliest(rows: list[dict[str, str]]) -> str:
    return html.escape(max(rows, key=lambda row: float(row["monthlyStorageCost(USD)"]))["repositoryName"])


def test_a_date_without_a_manifest_shows_none_of_its_objects_and_says_it_may_change(
    reported: list[dict[str, str]], emulator: Emulator, destination: ReportDestination
) -> None:
    s3 = client("s3", emulator.endpoint_url, REGION)
    s3.delete_object(Bucket=destination.bucket, Key=run_manifest_key(PREFIX, REPORT_DATE))

    location = html_operator(destination.bucket).execute(task_context())

    assert location == f"s3://{destination.bucket}/{html_report_key(PREFIX, REPORT_DATE)}"
    document = page(emulator, destination.bucket)
    assert f"<h1>ECR report {REPORT_DATE} (" in document
    assert html.escape(NO_MANIFEST) in document
    assert costliest(reported) not in document  # no generation of the date is visible yet


@pytest.mark.parametrize(("complete", "note"), [(False, INCOMPLETE), (True, None)])
def test_the_page_shows_the_visible_generation_and_says_whether_its_manifest_is_complete(
    complete: bool,
    note: str | None,
    reported: list[dict[str, str]],
    emulator: Emulator,
    destination: ReportDestination,
) -> None:
    manifest = {
        "report_date": REPORT_DATE,
        "complete": complete,
        "generation": GENERATION,
        "targets": [],
        "storage": None,
    }
    ReportLakeHook(aws_conn_id="emulator").write_json(
        destination.bucket, run_manifest_key(PREFIX, REPORT_DATE), manifest
    )

    html_operator(destination.bucket).execute(task_context())

    document = page(emulator, destination.bucket)
    assert costliest(reported) in document
    for message in (INCOMPLETE, NO_MANIFEST):
        assert (html.escape(message) in document) == (message == note)


def test_while_another_run_rewrites_the_date_the_page_shows_the_visible_generation_and_says_so(
    reported: list[dict[str, str]], emulator: Emulator, destination: ReportDestination
) -> None:
    lake = ReportLakeHook(aws_conn_id="emulator")
    manifest = {"report_date": REPORT_DATE, "complete": True, "generation": GENERATION, "targets": []}
    lake.write_json(destination.bucket, run_manifest_key(PREFIX, REPORT_DATE), manifest)
    started = "2026-11-21T06:00:00+00:00"
    rerun = {"run_id": "manual__rerun", "generation": "20261121T060000Z-00000001", "started": started}
    lake.write_json(destination.bucket, in_progress_key(PREFIX, REPORT_DATE), rerun)
    try:
        html_operator(destination.bucket).execute(task_context())
    finally:
        lake.delete_keys(destination.bucket, [in_progress_key(PREFIX, REPORT_DATE)])

    document = page(emulator, destination.bucket)
    assert BEING_REWRITTEN.format(started=started) in html.unescape(document)
    assert costliest(reported) in document


@pytest.mark.parametrize("trend_dates", [0, True, "3"])
def test_a_bad_trend_length_is_refused_when_the_dag_is_parsed(trend_dates: object) -> None:
    with pytest.raises(ValueError, match=f"trend_dates must be .*got {trend_dates!r}"):
        html_operator("ecr-reports-demo", trend_dates=trend_dates)
