"""The Airflow UI page in process: Airflow's auth manager decides who sees it, and it shows the demo
lake's numbers read from S3 (the emulator) through the AWS connection, cached per date."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from ecr_provider.core.html_report import gigabytes
from ecr_provider.core.layout import (
    breaches_key,
    in_progress_key,
    notification_marker_key,
    report_key,
    run_manifest_key,
)
from ecr_provider.hooks.report_lake import BEING_REWRITTEN, ReportLakeHook
from emulator.server import Emulator, client
from tests.browser.test_html_report_in_chromium import csv_rows
from tests.queries.lake import Lake

pytestmark = pytest.mark.integration

BUCKET = "ecr-page-lake"
PREFIX = "ecr-reports"
REGION = "us-east-1"


def dates_of(lake: Lake) -> list[str]:
    return sorted(p.name.removeprefix("report_date=") for p in (lake.root / "repositories_summary").iterdir())


def storage(rows: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "total_size_bytes": sum(int(row["totalSizeBytes"]) for row in rows),
        "billable_size_bytes": sum(int(row["billableSizeBytes"]) for row in rows),
        "monthly_cost_usd": str(sum(Decimal(row["monthlyStorageCost(USD)"]) for row in rows)),
    }


@pytest.fixture(scope="module")
def s3_lake(emulator: Emulator, demo_lake: Lake) -> list[str]:
    """The demo lake in a bucket, with a run manifest per date; the newest date's run is incomplete."""
    s3 = client("s3", emulator.endpoint_url, REGION)
    s3.create_bucket(Bucket=BUCKET)
    for path in demo_lake.root.rglob("*.csv"):
        s3.put_object(
            Bucket=BUCKET, Key=f"{PREFIX}/{path.relative_to(demo_lake.root)}", Body=path.read_bytes()
        )
    dates = dates_of(demo_lake)
    for date in dates:
        registries = [
            {"account_id": row_set[0]["accountId"], "region": row_set[0]["region"], **storage(row_set)}
            for region in ("eu-west-1", "us-east-1")
            if (
                row_set := [
                    r for r in csv_rows(demo_lake.root, "repositories_summary", date) if r["region"] == region
                ]
            )
        ]
        manifest = {
            "report_date": date,
            "as_of": f"{date}T00:00:00+00:00",
            "complete": date != dates[-1],
            "targets": [
                {"account_id": r["account_id"], "region": r["region"], "status": "loaded"} for r in registries
            ],
            "storage": {
                **storage(csv_rows(demo_lake.root, "repositories_summary", date)),
                "registries": registries,
            },
        }
        s3.put_object(Bucket=BUCKET, Key=run_manifest_key(PREFIX, date), Body=json.dumps(manifest).encode())
    s3.put_object(
        Bucket=BUCKET, Key=breaches_key(PREFIX, dates[0], None), Body=json.dumps(RUN_BREACHES).encode()
    )
    s3.put_object(
        Bucket=BUCKET, Key=notification_marker_key(PREFIX, dates[0]), Body=json.dumps(RUN_ALERT).encode()
    )
    return dates


RUN_BREACHES = {
    "run_id": "manual__first",
    "breaches": [
        {
            "repository_name": "ml/training",
            "account_id": "123456789012",
            "region": "eu-west-1",
            "billable_size_bytes": 17 * 2**30,
            "threshold_gb": "1",
            "monthly_cost_usd": "1.8700",
            "days_since_last_pull": "8",
        }
    ],
}
"""What the first date's run decided with its own 1 GB threshold (the Variable below says 5 GB)."""
RUN_ALERT = {"sent_at": "2026-10-21T00:05:00+00:00", "alerted": ["123456789012/eu-west-1/ml/training"]}


class CountingLake(ReportLakeHook):
    reads: ClassVar[list[str]] = []

    def read_report_rows(self, bucket: str, key: str) -> Iterator[dict[str, str]]:
        CountingLake.reads.append(key)
        return super().read_report_rows(bucket, key)


@pytest.fixture(scope="module")
def page_client(emulator: Emulator, s3_lake: list[str], auth_tokens: dict[str, str]) -> Iterator[TestClient]:
    from ecr_provider.plugins.ecr_page import LakeSettings, create_app

    connection = json.dumps(
        {"conn_type": "aws", "extra": {"endpoint_url": emulator.endpoint_url, "region_name": REGION}}
    )
    settings = LakeSettings.from_config(
        json.dumps(
            {
                "report_bucket": BUCKET,
                "report_prefix": PREFIX,
                "aws_conn_id": "ecr_lake",
                "storage_threshold_gb": 5,
            }
        )
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_ECR_LAKE", connection)
        app = create_app(settings=lambda: settings, lake=lambda conn_id: CountingLake(aws_conn_id=conn_id))
        yield TestClient(app)


def figure(document: str, name: str) -> str:
    found = re.search(rf"data-figure='{name}'>([^<]*)<", document)
    assert found, name
    return found.group(1)


def test_only_users_allowed_to_read_the_dag_see_the_page(
    page_client: TestClient, auth_tokens: dict[str, str]
) -> None:
    assert page_client.get("/").status_code == 401
    assert (
        page_client.get("/", headers={"Authorization": f"Bearer {auth_tokens['nobody']}"}).status_code == 403
    )
    assert page_client.get("/", cookies={"_token": auth_tokens["viewer"]}).status_code == 200


def test_every_response_carries_the_security_headers(
    page_client: TestClient, auth_tokens: dict[str, str]
) -> None:
    from ecr_provider.plugins.ecr_page import SECURITY_HEADERS

    viewer = {"_token": auth_tokens["viewer"]}
    responses = [
        page_client.get("/"),
        page_client.get("/", cookies={"_token": auth_tokens["nobody"]}),
        page_client.get("/", cookies=viewer),
        page_client.get("/", params={"date": "2026-13-01"}, cookies=viewer),
        page_client.get("/elsewhere", cookies=viewer),
    ]
    assert [response.status_code for response in responses] == [401, 403, 200, 400, 404]
    for response in responses:
        assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_the_default_date_is_the_newest_complete_one_and_its_numbers_are_the_csvs(
    page_client: TestClient, auth_tokens: dict[str, str], demo_lake: Lake, s3_lake: list[str]
) -> None:
    viewer = {"Authorization": f"Bearer {auth_tokens['viewer']}"}
    document = page_client.get("/", headers=viewer).text
    date = s3_lake[-2]  # the newest is incomplete
    rows = csv_rows(demo_lake.root, "repositories_summary", date)

    assert f"<h1>ECR report {date} (all registries)</h1>" in document
    assert figure(document, "repositories") == str(len(rows))
    assert Decimal(figure(document, "monthly-cost")) == sum(
        Decimal(r["monthlyStorageCost(USD)"]) for r in rows
    )
    assert figure(document, "unique-blob-gb") == gigabytes(sum(int(r["billableSizeBytes"]) for r in rows))
    for earlier in s3_lake[:-1]:
        assert f"<tr><td>{earlier}</td>" in document
    assert f"<tr><td>{s3_lake[-1]}</td>" not in document  # the trend stops at the page's date
    assert "<option value='eu-west-1'" not in document
    assert "<option value='123456789012 eu-west-1'>" in document

    newest = page_client.get("/", params={"date": s3_lake[-1]}, headers=viewer).text
    assert "This date is incomplete" in newest


def test_one_registry_and_the_cache(
    page_client: TestClient, auth_tokens: dict[str, str], demo_lake: Lake, s3_lake: list[str]
) -> None:
    viewer = {"Authorization": f"Bearer {auth_tokens['viewer']}"}
    date = s3_lake[0]
    params = {"date": date, "registry": "123456789012 eu-west-1"}
    CountingLake.reads.clear()
    document = page_client.get("/", params=params, headers=viewer).text
    reads = len(CountingLake.reads)
    rows = [r for r in csv_rows(demo_lake.root, "repositories_summary", date) if r["region"] == "eu-west-1"]

    assert "(123456789012 eu-west-1)</h1>" in document
    assert figure(document, "repositories") == str(len(rows))
    assert reads == 3  # the region's repositories, images and registries objects, not the other region's
    assert page_client.get("/", params=params, headers=viewer).text == document
    assert len(CountingLake.reads) == reads, "a cached page reads no report again"
    assert page_client.get("/", params={"date": "2026-13-01"}, headers=viewer).status_code == 400
    assert page_client.get("/", params={"registry": "nope"}, headers=viewer).status_code == 400


def test_the_plugin_is_registered_with_its_app_and_navigation_entry() -> None:
    from ecr_provider.get_provider_info import get_provider_info
    from ecr_provider.plugins import URL_PREFIX
    from ecr_provider.plugins.ecr_page import EcrReportPlugin

    (registered,) = get_provider_info()["plugins"]
    assert registered["plugin-class"] == f"{EcrReportPlugin.__module__}.{EcrReportPlugin.__name__}"
    (app,) = EcrReportPlugin.fastapi_apps
    assert app["url_prefix"] == URL_PREFIX == "/ecr-report"
    (view,) = EcrReportPlugin.external_views
    assert (view["href"], view["destination"]) == ("/ecr-report/", "nav")
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'ecr_report = "ecr_provider.plugins.ecr_page:EcrReportPlugin"' in pyproject


def test_the_page_shows_what_the_run_decided_not_todays_variable(
    page_client: TestClient, auth_tokens: dict[str, str], s3_lake: list[str]
) -> None:
    viewer = {"Authorization": f"Bearer {auth_tokens['viewer']}"}
    decided = page_client.get("/", params={"date": s3_lake[0]}, headers=viewer).text
    section = decided.split("<section id='breaches'>", 1)[1].split("</section>", 1)[0]

    assert "Repositories over their threshold (1)" in section
    assert "<td>ml/training</td><td>123456789012 eu-west-1</td>" in section
    assert "<td class='num'>1</td>" in section  # the run's threshold, not the Variable's 5
    assert "The SNS alert went out 2026-10-21T00:05:00+00:00, naming 1 repository" in section
    undecided = page_client.get("/", params={"date": s3_lake[1]}, headers=viewer).text
    section = undecided.split("<section id='breaches'>", 1)[1].split("</section>", 1)[0]
    assert "That run recorded no repository over its threshold." in section
    assert "No SNS alert went out for this date." in section


def test_a_date_being_rewritten_shows_its_visible_runs_breaches_and_not_the_reruns(
    emulator: Emulator, demo_lake: Lake, s3_lake: list[str], auth_tokens: dict[str, str]
) -> None:
    """A rerun has marked the date and written its breaches under its own generation, which is not
    visible yet (it may never be: a rerun that fails leaves the previous run's state and decision)."""
    from ecr_provider.plugins.ecr_page import LakeSettings, create_app

    prefix, date, generation = "rewritten", s3_lake[0], "20261021T000000Z-0a1b2c3d"
    s3 = client("s3", emulator.endpoint_url, REGION)
    for report in ("repositories_summary", "images_summary", "registries_summary"):
        for path in (demo_lake.root / report / f"report_date={date}").glob("*.csv"):
            key = report_key(prefix, report, date, *path.stem.split("-", 1), generation=generation)
            s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    manifest = {"report_date": date, "complete": True, "generation": generation, "run_id": "manual__visible"}
    started = "2026-10-22T06:00:00+00:00"
    rerun = {"run_id": "manual__rerun", "generation": "20261022T060000Z-00000001", "started": started}
    for key, document in (
        (run_manifest_key(prefix, date), manifest),
        (in_progress_key(prefix, date), rerun),
        (breaches_key(prefix, date, generation), {**RUN_BREACHES, "run_id": "manual__visible"}),
        (breaches_key(prefix, date, rerun["generation"]), {"run_id": "manual__rerun", "breaches": []}),
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())
    settings = LakeSettings(bucket=BUCKET, prefix=prefix, aws_conn_id="ecr_lake")
    connection = json.dumps(
        {"conn_type": "aws", "extra": {"endpoint_url": emulator.endpoint_url, "region_name": REGION}}
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_ECR_LAKE", connection)
        app = create_app(settings=lambda: settings, lake=lambda conn_id: ReportLakeHook(aws_conn_id=conn_id))
        viewer = {"Authorization": f"Bearer {auth_tokens['viewer']}"}
        document = TestClient(app).get("/", headers=viewer).text

    assert f"<h1>ECR report {date} (all registries)</h1>" in document
    rows = csv_rows(demo_lake.root, "repositories_summary", date)
    assert figure(document, "repositories") == str(len(rows))
    assert BEING_REWRITTEN.format(started=started) in html.unescape(document)
    section = document.split("<section id='breaches'>", 1)[1].split("</section>", 1)[0]
    assert "Repositories over their threshold (1)" in section
    assert "<td>ml/training</td><td>123456789012 eu-west-1</td>" in section
