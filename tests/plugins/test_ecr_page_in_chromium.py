"""The Airflow page in headless Chromium: the plugin's app served over HTTP (uvicorn, as the api-server
serves it), signed in with an Airflow token cookie; a person picks a registry in the form and reads
the numbers, which equal the CSVs'. Screenshots beside the HTML report's in ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from emulator.server import Emulator
from tests.browser.test_html_report_in_chromium import csv_rows, gb, usd
from tests.chromium import ARTIFACTS, served_lake_page
from tests.plugins.test_ecr_page import BUCKET, PREFIX, REGION, s3_lake
from tests.queries.lake import Lake

pytestmark = pytest.mark.integration
__all__ = ["s3_lake"]  # a fixture shared with the module it comes from


@pytest.fixture(scope="module")
def served_page(emulator: Emulator, s3_lake: list[str]) -> Iterator[str]:
    with served_lake_page(emulator.endpoint_url, BUCKET, PREFIX, REGION) as url:
        yield url


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_viewer_picks_a_registry_and_reads_its_numbers(
    browser: Any,
    served_page: str,
    auth_tokens: dict[str, str],
    demo_lake: Lake,
    s3_lake: list[str],
    scheme: str,
) -> None:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1200, "height": 900})
    context.add_cookies([{"name": "_token", "value": auth_tokens["viewer"], "url": served_page}])
    page = context.new_page()
    page.goto(served_page)
    date = s3_lake[-2]
    assert page.locator("h1").inner_text() == f"ECR report {date} (all registries)"

    page.select_option("select[name=registry]", "123456789012 eu-west-1")
    page.click("button[type=submit]")
    page.wait_for_url("**registry=*")
    rows = [r for r in csv_rows(demo_lake.root, "repositories_summary", date) if r["region"] == "eu-west-1"]
    headline = dict(
        zip(
            page.locator(".headline dt").all_text_contents(),
            page.locator(".headline dd").all_text_contents(),
            strict=True,
        )
    )
    assert page.locator("h1").inner_text() == f"ECR report {date} (123456789012 eu-west-1)"
    assert headline["repositories"] == str(len(rows))
    assert headline["monthly storage cost (USD)"] == usd(
        sum((Decimal(r["monthlyStorageCost(USD)"]) for r in rows), Decimal(0))
    )
    assert headline["billable storage (GiB)"] == gb(sum(int(r["billableSizeBytes"]) for r in rows))
    top = max(rows, key=lambda r: Decimal(r["monthlyStorageCost(USD)"]))
    bars = [
        text for text in page.locator("#costliest svg text").all_text_contents() if text.startswith("USD ")
    ]
    assert bars[0].startswith(f"USD {top['monthlyStorageCost(USD)']} · ")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"airflow-page-{scheme}.png"), full_page=True)
    context.close()


def test_without_a_token_the_browser_gets_no_page(browser: Any, served_page: str) -> None:
    context = browser.new_context()
    response = context.new_page().goto(served_page)
    assert response is not None
    assert response.status == 401
    context.close()
