"""The HTML report as a person sees it: opened from a file in headless Chromium (Debian's package), in a
light and a dark theme, offline; the numbers read off the page equal those computed here from the CSVs.

Screenshots go to ``test-artifacts/`` at the checkout's root (git-ignored), or ``$ECR_REPORT_TEST_ARTIFACTS``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.html_report import ReportPage, TrendPoint, page_images
from ecr_provider.core.thresholds import ThresholdPolicy
from ecr_provider.core.units import GB
from ecr_provider.pages.render import render_report
from tests.chromium import ARTIFACTS
from tests.queries.lake import Lake

pytestmark = pytest.mark.integration

THRESHOLD_GB = 5
OVERRIDES = {"platform/*": 20}
Row = dict[str, str]


def csv_rows(root: Path, report: str, date: str) -> list[Row]:
    found: list[Row] = []
    for path in sorted((root / report / f"report_date={date}").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            found.extend(read_canonical(handle))
    return found


@pytest.fixture(scope="module")
def report_file(demo_lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    """The demo lake's latest date as the DAG's task builds it: its rows, its images, one trend point
    per date (what each date's run manifest records), the demo's thresholds."""
    dates = sorted(
        path.name.removeprefix("report_date=") for path in (demo_lake.root / "repositories_summary").iterdir()
    )
    trend = []
    for date in dates:
        rows = csv_rows(demo_lake.root, "repositories_summary", date)
        trend.append(
            TrendPoint(
                date,
                sum(int(row["totalSizeBytes"]) for row in rows),
                sum(int(row["billableSizeBytes"]) for row in rows),
                sum((Decimal(row["monthlyStorageCost(USD)"]) for row in rows), Decimal(0)),
            )
        )
    latest = dates[-1]
    page = ReportPage(
        latest,
        csv_rows(demo_lake.root, "repositories_summary", latest),
        trend,
        page_images(
            csv_rows(demo_lake.root, "images_summary", latest),
            csv_rows(demo_lake.root, "repositories_summary", latest),
        ),
        ThresholdPolicy.from_params(THRESHOLD_GB, OVERRIDES),
    )
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_report(page), encoding="utf-8")
    return path, latest, dates


def usd(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.0001")))


def gb(size: int) -> str:
    return str((Decimal(size) / GB).quantize(Decimal("0.01")))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_numbers_on_the_page_are_the_csvs(
    browser: Any, demo_lake: Lake, report_file: tuple[Path, str, list[str]], scheme: str
) -> None:
    path, latest, dates = report_file
    rows = csv_rows(demo_lake.root, "repositories_summary", latest)
    images = csv_rows(demo_lake.root, "images_summary", latest)
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1200, "height": 900})
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.goto(path.as_uri())

    def texts(selector: str) -> list[str]:
        return [text.strip() for text in page.locator(selector).all_text_contents()]

    headline = dict(zip(texts(".headline dt"), texts(".headline dd"), strict=True))
    assert headline == {
        "repositories": str(len(rows)),
        "monthly storage cost (USD)": usd(
            sum((Decimal(row["monthlyStorageCost(USD)"]) for row in rows), Decimal(0))
        ),
        "billable storage (GiB)": gb(sum(int(row["billableSizeBytes"]) for row in rows)),
        "sum of image sizes (GiB)": gb(sum(int(row["totalSizeBytes"]) for row in rows)),
        "reclaimable now (USD a month)": usd(
            sum((Decimal(row["reclaimableMonthlySavings(USD)"]) for row in rows), Decimal(0))
        ),
    }
    bases = {row["costBasis"] for row in rows}
    assert bases == {"image-size"}, "the demo reads no manifests"
    assert page.locator("[data-figure=cost-basis]").inner_text().startswith("image sizes (manifests not read")
    assert (
        page.locator("[data-note=manifests-unread]")
        .inner_text()
        .startswith(f"Manifests were not read for {len(rows)} of {len(rows)} repositories")
    )
    facts = dict(zip(texts("#context dt"), texts("#context dd"), strict=True))
    assert facts["accounts"] == str(len({row["accountId"] for row in rows}))
    assert facts["regions"] == str(len({row["region"] for row in rows}))
    assert facts["as of (UTC)"] == ", ".join(sorted({row["asOf"] for row in rows}))
    assert facts["unit"] == "GiB = 2^30 bytes"
    running_images = sum(image["inUse"] == "true" for image in images)
    assert facts["images running (inUse)"] == f"{running_images} of {len(images)}"
    prices = sorted(
        {
            (r["region"], r["priceSource"], r["pricePerGbMonth(USD)"], r["archivePricePerGbMonth(USD)"])
            for r in rows
        }
    )
    shown = [tuple(row.locator("td").all_text_contents()) for row in page.locator("tr[data-price]").all()]
    assert shown == prices

    costliest = sorted(rows, key=lambda row: -Decimal(row["monthlyStorageCost(USD)"]))[:10]
    bar_labels = [text for text in texts("#costliest svg text") if text.startswith("USD ")]
    assert [label.split(" · ")[0] for label in bar_labels] == [
        f"USD {row['monthlyStorageCost(USD)']}" for row in costliest
    ]
    for label, row in zip(bar_labels, costliest, strict=True):
        days = row["daysSinceLastPull"]
        assert ("no lifecycle policy" not in label) == bool(row["lifecyclePolicyText"]), label
        assert (days in {"", "0", "1"}) or f"{days} days ago" in label, label

    point_labels = set(texts("#trend svg text"))
    for date in dates:
        date_rows = csv_rows(demo_lake.root, "repositories_summary", date)
        cost = usd(sum((Decimal(row["monthlyStorageCost(USD)"]) for row in date_rows), Decimal(0)))
        assert cost in point_labels or f"monthly cost: {cost}" in point_labels, date
        assert date in point_labels

    def cells(selector: str) -> list[str]:
        return [text.strip() for text in page.locator(selector).locator("td").all_text_contents()]

    def money(matching: list[Row], column: str) -> str:
        return usd(sum((Decimal(row[column] or 0) for row in matching), Decimal(0)))

    existing = [row for row in rows if row["lifecyclePolicySource"] != "recommended"]
    recommended = [row for row in rows if row["lifecyclePolicySource"] == "recommended"]
    assert cells("tr[data-saving=reclaimable-now]")[1:4] == [
        money(rows, "reclaimableMonthlySavings(USD)"),
        str(sum(int(row["reclaimableImages"]) for row in rows)),
        gb(sum(int(row["reclaimableBytes"]) for row in rows)),
    ]
    for saving, matching, prefix in (
        ("reclaimable-now", rows, "reclaimable"),
        ("existing-policies", existing, "lifecycleExpiring"),
        ("recommended-policy", recommended, "lifecycleExpiring"),
    ):
        image_column = f"{prefix}Images"
        money_column = (
            "reclaimableMonthlySavings(USD)" if prefix == "reclaimable" else "lifecycleMonthlySavings(USD)"
        )
        assert cells(f"tr[data-saving={saving}]")[1:5] == [
            money(matching, money_column),
            str(sum(int(row[image_column] or 0) for row in matching)),
            gb(sum(int(row[f"{prefix}Bytes"] or 0) for row in matching)),
            str(
                sum(
                    1
                    for row in matching
                    if int(row[image_column] or 0) > 0 or Decimal(row[money_column] or 0) > 0
                )
            ),
        ], saving
    assert "These are not added up" in page.locator("#savings").inner_text()

    over = [
        row
        for row in rows
        if int(row["billableSizeBytes"])
        > (OVERRIDES["platform/*"] if row["repositoryName"].startswith("platform/") else THRESHOLD_GB) * GB
    ]
    assert page.locator("#breaches h2").inner_text() == f"Repositories over their threshold ({len(over)})"
    running = [image for image in images if image["inUse"] == "true"]
    risky = [i for i in running if int(i["findingsCritical"] or 0) or int(i["findingsHigh"] or 0)]
    unscanned = [i for i in running if i["imageScanStatus"] != "COMPLETE"]
    limit = {(r["region"], r["repositoryName"]): int(r["reclaimAfterDays"]) for r in rows}
    stale = [
        i
        for i in running
        if i["daysSinceLastPull"] == ""
        or int(i["daysSinceLastPull"]) > limit[(i["region"], i["repositoryName"])]
    ]
    assert risky, "the demo has each kind"
    assert unscanned
    assert stale
    assert page.locator("#risky h2").inner_text().endswith(f"findings ({len(risky)})")
    assert page.locator("#unscanned h2").inner_text().endswith(f"failed ({len(unscanned)})")
    assert page.locator("#pull-time h2").inner_text().endswith(f"delete ({len(stale)})")
    where = {text for text in texts("#risky td:last-child")}
    assert where == {", ".join(json.loads(i["inUseBy"])) for i in risky}

    untagged = [i for i in images if json.loads(i["imageTags"]) == []]
    assert (
        page.locator("[data-figure=untagged-images]").inner_text()
        == str(sum(int(r["untaggedImages"]) for r in rows))
        == str(len(untagged))
    )
    assert page.locator("[data-figure=untagged-gb]").inner_text() == gb(
        sum(int(i["imageSizeBytes"]) for i in untagged)
    )
    no_policy = [r for r in rows if not r["lifecyclePolicyText"]]
    assert page.locator("#no-policy h2").inner_text().endswith(f"({len(no_policy)})")
    assert page.locator("[data-figure=archived-gb]").inner_text() == gb(
        sum(int(r["archivedSizeBytes"]) for r in rows)
    )
    assert page.locator("[data-figure=archived-cost]").inner_text() == money(rows, "archivedMonthlyCost(USD)")
    for region in {row["region"] for row in rows}:
        in_region = [row for row in rows if row["region"] == region]
        assert cells(f"tr[data-rollup=region]:has(td:text-is('{region}'))") == [
            region,
            str(len(in_region)),
            str(sum(int(r["totalImages"]) for r in in_region)),
            gb(sum(int(r["billableSizeBytes"]) for r in in_region)),
            gb(sum(int(r["archivedSizeBytes"]) for r in in_region)),
            money(in_region, "monthlyStorageCost(USD)"),
        ]
    assert len(texts("section a[data-query]")) == 6

    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    label_colour = page.evaluate("getComputedStyle(document.querySelector('#costliest svg text')).fill")
    assert (background, label_colour) == (
        ("rgb(255, 255, 255)", "rgb(27, 31, 36)")
        if scheme == "light"
        else ("rgb(13, 17, 23)", "rgb(230, 237, 243)")
    )
    assert requested == [path.as_uri()], "the page loads nothing but itself"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"html-report-{scheme}.png"), full_page=True)
    context.close()
