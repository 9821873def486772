"""The DAG's html_report task: one page per date in S3 beside the CSVs, its numbers those of the CSVs,
its trend read from the run manifests of the dates run before."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from typing import Any

import pytest

from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.html_report import gigabytes
from ecr_provider.core.layout import html_report_key, run_manifest_key
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.integration.conftest import REGION, REPORT_DATE, RunDag

pytestmark = pytest.mark.integration

PREFIX = "html-pages"
EARLIER = "2026-11-19"


def read(emulator: Emulator, bucket: str, key: str) -> bytes:
    body: bytes = (
        client("s3", emulator.endpoint_url, REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    )
    return body


@pytest.fixture(scope="module")
def pages(run_dag: RunDag, destination: ReportDestination, emulator: Emulator) -> dict[str, Any]:
    conf = {
        "regions": [REGION],
        "report_bucket": destination.bucket,
        "report_prefix": PREFIX,
        "storage_threshold_gb": 5,
        "repository_thresholds_gb": {"platform/*": 20},
        "sns_topic_arn": "",
    }
    for date in (EARLIER, REPORT_DATE):
        result = run_dag(conf, date)
        assert result.task_states["html_report"] == "success", result.tail()
    s3 = client("s3", emulator.endpoint_url, REGION)
    (csv_key,) = [
        item["Key"]
        for item in s3.list_objects_v2(
            Bucket=destination.bucket, Prefix=f"{PREFIX}/repositories_summary/report_date={REPORT_DATE}/"
        )["Contents"]
    ]
    return {
        "html": read(emulator, destination.bucket, html_report_key(PREFIX, REPORT_DATE)).decode("utf-8"),
        "rows": list(
            read_canonical(io.StringIO(read(emulator, destination.bucket, csv_key).decode(), newline=""))
        ),
        "manifests": [
            json.loads(read(emulator, destination.bucket, run_manifest_key(PREFIX, date)))
            for date in (EARLIER, REPORT_DATE)
        ],
    }


def figure(document: str, name: str) -> str:
    found = re.search(rf"data-figure='{name}'>([^<]*)<", document)
    assert found, name
    return found.group(1)


def test_the_page_sits_outside_the_tables_and_shows_the_csvs_sums(pages: dict[str, Any]) -> None:
    rows = pages["rows"]
    document = pages["html"]

    assert html_report_key(PREFIX, REPORT_DATE) == f"{PREFIX}/_html/report_date={REPORT_DATE}/report.html"
    assert figure(document, "repositories") == str(len(rows))
    cost = sum((Decimal(row["monthlyStorageCost(USD)"]) for row in rows), Decimal(0))
    assert Decimal(figure(document, "monthly-cost")) == cost.quantize(Decimal("0.0001"))
    assert figure(document, "unique-blob-gb") == gigabytes(sum(int(row["billableSizeBytes"]) for row in rows))
    assert figure(document, "image-size-gb") == gigabytes(sum(int(row["totalSizeBytes"]) for row in rows))
    assert "Repositories over their threshold (" in document
    assert "incomplete" not in document


def test_the_trend_has_each_run_date_from_its_manifest(pages: dict[str, Any]) -> None:
    """Earlier dates from their manifests; the page's own date from its CSV, as the headline shows it."""
    trend = pages["html"].split("<section id='trend'>", 1)[1].split("</section>", 1)[0]
    own = sum((Decimal(row["monthlyStorageCost(USD)"]) for row in pages["rows"]), Decimal(0))
    for manifest in pages["manifests"]:
        storage = manifest["storage"]
        assert storage["registries"][0]["region"] == REGION
        cost = str(own) if manifest["report_date"] == REPORT_DATE else storage["monthly_cost_usd"]
        assert f"<tr><td>{manifest['report_date']}</td><td class='num'>{cost}</td>" in trend
    assert figure(pages["html"], "monthly-cost") == str(own)
    latest = pages["manifests"][-1]["storage"]
    assert latest["billable_size_bytes"] == sum(int(row["billableSizeBytes"]) for row in pages["rows"])


def test_the_change_since_the_previous_date_is_the_csvs(pages: dict[str, Any]) -> None:
    rows = pages["rows"]
    document = pages["html"]
    assert {row["previousReportDate"] for row in rows} == {EARLIER}
    cost = sum((Decimal(row["costChange(USD)"]) for row in rows), Decimal(0))
    size = sum(int(row["sizeChangeBytes"]) for row in rows)
    assert figure(document, "cost-change") == str(cost)
    assert figure(document, "size-change-gb") == gigabytes(size)
    assert f"Since {EARLIER}: storage" in document
