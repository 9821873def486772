"""Stored markup stays text, in Chromium: objects under the report prefix whose every text cell (names,
tags, lifecycle policy descriptions, finding titles, URIs, accountId, region) and run-manifest registry
is markup, shown by the Airflow page (served over HTTP, with its headers) and by the HTML file. No
element of theirs appears, no script runs, and a person reads the markup as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ecr_provider.core.columns import (
    FINDING_COLUMNS,
    FINDINGS_REPORT,
    IMAGE_COLUMNS,
    IMAGES_REPORT,
    REPOSITORIES_REPORT,
    REPOSITORY_COLUMNS,
)
from ecr_provider.core.csv_format import canonical_line
from ecr_provider.core.html_report import ReportPage, TrendPoint, page_images
from ecr_provider.core.layout import partition_prefix, run_manifest_key
from ecr_provider.core.thresholds import ThresholdPolicy
from ecr_provider.pages.render import CONTENT_SECURITY_POLICY, render_report
from emulator.server import Emulator, client
from tests.browser import hostile
from tests.chromium import ARTIFACTS, served_lake_page

pytestmark = pytest.mark.integration

BUCKET = "hostile-lake"
PREFIX = "ecr-reports"
DATE = "2026-11-20"
REGION = "us-east-1"
OBJECT = "123456789012-us-east-1.csv"
SHOWN = ("repositoryName", "accountId", "region", "imageTags")
"""Fields whose text the page shows (the others reach it only as counts or not at all)."""


def _csv(columns: Any, rows: list[dict[str, str]]) -> bytes:
    headers = [column.header for column in columns]
    return (
        canonical_line(headers) + "".join(canonical_line(row[h] for h in headers) for row in rows)
    ).encode()


@pytest.fixture(scope="module")
def hostile_lake(emulator: Emulator) -> None:
    s3 = client("s3", emulator.endpoint_url, REGION)
    s3.create_bucket(Bucket=BUCKET)
    for report, columns, rows in (
        (REPOSITORIES_REPORT, REPOSITORY_COLUMNS, hostile.repositories()),
        (IMAGES_REPORT, IMAGE_COLUMNS, hostile.images()),
        (FINDINGS_REPORT, FINDING_COLUMNS, hostile.findings()),
    ):
        s3.put_object(
            Bucket=BUCKET, Key=f"{partition_prefix(PREFIX, report, DATE)}{OBJECT}", Body=_csv(columns, rows)
        )
    registry = {"account_id": hostile.payload("accountId"), "region": hostile.payload("region")}
    manifest = {
        "report_date": DATE,
        "as_of": hostile.payload("as_of"),
        "complete": True,
        "targets": [{**registry, "status": "loaded"}],
        "storage": {
            "total_size_bytes": 1,
            "billable_size_bytes": 1,
            "monthly_cost_usd": "0.0001",
            "registries": [
                {**registry, "total_size_bytes": 1, "billable_size_bytes": 1, "monthly_cost_usd": "0.0001"}
            ],
        },
    }
    s3.put_object(Bucket=BUCKET, Key=run_manifest_key(PREFIX, DATE), Body=json.dumps(manifest).encode())


@pytest.fixture(scope="module")
def served_page(emulator: Emulator, hostile_lake: None) -> Iterator[str]:
    with served_lake_page(emulator.endpoint_url, BUCKET, PREFIX, REGION) as url:
        yield url


def _shows_markup_as_text(page: Any, title: str) -> None:
    assert page.locator(f"[{hostile.INJECTED}]").count() == 0
    assert page.locator("script, img").count() == 0
    assert page.title() == title  # no payload script rewrote it
    text = page.locator("body").inner_text()
    for field in SHOWN:
        assert f"<b {hostile.INJECTED}='{field}'>{field}</b>" in text, field


def test_the_airflow_page_shows_stored_markup_as_text_under_a_strict_policy(
    browser: Any, served_page: str, auth_tokens: dict[str, str]
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_cookies([{"name": "_token", "value": auth_tokens["viewer"], "url": served_page}])
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)
    response = page.goto(served_page)

    assert response is not None
    assert response.status == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "script-src" not in CONTENT_SECURITY_POLICY
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'none';")
    _shows_markup_as_text(page, f"ECR report {DATE} (all registries)")
    registry = page.locator("select[name=registry] option").nth(1).inner_text()
    assert registry == f"{hostile.payload('accountId')} {hostile.payload('region')}"
    assert violations == [], "the page's own style sheet is allowed by its hash"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "airflow-page-stored-markup.png"), full_page=True)
    context.close()


def test_a_user_who_may_not_read_the_dag_gets_403_with_the_same_headers(
    browser: Any, served_page: str, auth_tokens: dict[str, str]
) -> None:
    context = browser.new_context()
    context.add_cookies([{"name": "_token", "value": auth_tokens["nobody"], "url": served_page}])
    response = context.new_page().goto(served_page)

    assert response is not None
    assert response.status == 403
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert hostile.INJECTED not in response.text()
    context.close()


def test_the_html_file_shows_stored_markup_as_text(browser: Any, tmp_path: Path) -> None:
    rows = hostile.repositories()
    document = render_report(
        ReportPage(
            DATE,
            rows,
            [TrendPoint(DATE, 1, 1, Decimal("0.0001"))],
            page_images(hostile.images(), rows),
            ThresholdPolicy.from_params(5, None),
        )
    )
    path = tmp_path / "report.html"
    path.write_text(document, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)
    page.goto(path.as_uri())

    _shows_markup_as_text(page, f"ECR report {DATE} (all registries)")
    assert violations == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "html-report-stored-markup.png"), full_page=True)
    context.close()
