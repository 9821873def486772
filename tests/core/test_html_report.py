"""The HTML report builder on hand-built rows: the figures it computes, and the document it writes."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any, cast

from ecr_provider.core.columns import IMAGE_COLUMNS, REPOSITORY_COLUMNS
from ecr_provider.core.html_report import (
    PageChoices,
    ReportPage,
    Scope,
    TrendPoint,
    risky_images,
    trend_point,
)
from ecr_provider.core.run_manifest import OutcomeRecord, RunRecord, target_outcomes
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.core.thresholds import ThresholdPolicy
from ecr_provider.core.units import GB
from ecr_provider.pages.render import render_report
from tests.browser import hostile

POLICY = '{"rules":[]}'


def repository(name: str, cost: str, billable_gb: int, **values: str) -> dict[str, str]:
    row = dict.fromkeys((column.header for column in REPOSITORY_COLUMNS), "")
    row.update(
        repositoryName=name,
        accountId="111111111111",
        region="us-east-1",
        totalSizeBytes=str(billable_gb * GB * 2),
        billableSizeBytes=str(billable_gb * GB),
        **{"monthlyStorageCost(USD)": cost, "lifecycleMonthlySavings(USD)": "0.0000"},
    )
    row.update(values)
    return row


def image(name: str, critical: str, high: str, days: str) -> dict[str, str]:
    row = dict.fromkeys((column.header for column in IMAGE_COLUMNS), "")
    row.update(
        repositoryName=name,
        accountId="111111111111",
        region="us-east-1",
        imageDigest="sha256:" + name.encode().hex().ljust(64, "0"),
        imageTags='["v1"]',
        findingsCritical=critical,
        findingsHigh=high,
        daysSinceLastPull=days,
    )
    return row


ROWS = [
    repository("small", "0.1000", 1, daysSinceLastPull="3"),
    repository("big", "2.5000", 25, lifecyclePolicyText=POLICY, **{"lifecycleMonthlySavings(USD)": "0.7500"}),
    repository(
        "idle",
        "1.0000",
        10,
        **{"lifecycleMonthlySavings(USD)": "0.2500", "reclaimableMonthlySavings(USD)": "0.6000"},
    ),
]


def texts(document: str, section: str) -> list[str]:
    """The SVG text labels drawn in one section's charts."""
    body = document.split(f"<section id='{section}'>", 1)[1].split("</section>", 1)[0]
    return re.findall(r"<text[^>]*>([^<]*)</text>", body)


def test_headline_costliest_and_savings_are_the_rows_sums_and_order() -> None:
    page = ReportPage("2026-11-20", ROWS)

    assert page.monthly_cost_usd == "3.6000"
    assert page.unique_blob_bytes == 36 * GB
    assert page.image_size_bytes == 72 * GB
    costliest = page.costliest()
    assert [r.repository_name for r in costliest] == ["big", "idle", "small"]
    assert [(r.pulled, r.policy) for r in costliest] == [
        ("never pulled", "lifecycle policy"),
        ("never pulled", "no lifecycle policy"),
        ("last pull 3 days ago", "no lifecycle policy"),
    ]
    lifecycle, reclaimable = page.savings()
    assert (lifecycle.monthly_usd, lifecycle.repositories, lifecycle.query) == (
        "1.0000",
        2,
        "potential_savings",
    )
    assert (reclaimable.monthly_usd, reclaimable.repositories, reclaimable.query) == (
        "0.6000",
        1,
        "reclaimable_storage",
    )


def test_every_bar_and_point_carries_its_number_and_the_page_has_no_network_reference() -> None:
    trend = [
        TrendPoint("2026-11-19", 70 * GB, 35 * GB, Decimal("3.5")),
        TrendPoint("2026-11-20", 72 * GB, 36 * GB, Decimal("3.6")),
    ]
    document = render_report(ReportPage("2026-11-20", ROWS, trend, risky=[]))

    bars = texts(document, "costliest")
    assert "USD 2.5000 · never pulled · lifecycle policy" in bars
    assert "USD 0.1000 · last pull 3 days ago · no lifecycle policy" in bars
    points = texts(document, "trend")
    assert {
        "3.5000",
        "monthly cost: 3.6000",
        "35.00",
        "unique blobs: 36.00",
        "70.00",
        "image sizes: 72.00",
    } <= (set(points))
    assert "<dd data-figure='monthly-cost'>3.6000</dd>" in document
    assert "USD 1.0000 a month" in texts(document, "savings")
    assert "prefers-color-scheme: dark" in document
    assert not re.search(
        r"(src|href)=['\"]https?://(?!\w[\w-]*\.console\.aws\.amazon\.com/athena/)", document
    )
    assert "<script" not in document
    assert document.count("data-query='ecr_report.") == 4


def test_breaches_and_risky_images_are_listed_or_said_to_be_absent() -> None:
    risky = risky_images(
        [
            image("old", "2", "0", "90"),
            image("hot", "0", "3", "1"),
            image("worst", "1", "0", "0"),
            image("clean", "0", "0", "0"),
        ]
    )
    assert [(i.repository_name, i.critical, i.high) for i in risky] == [("worst", 1, 0), ("hot", 0, 3)]

    with_policy = render_report(
        ReportPage("2026-11-20", ROWS, risky=risky, policy=ThresholdPolicy.from_params(5, {"big": 30}))
    )
    assert "Repositories over their threshold (1)" in with_policy
    assert "<td>idle</td>" in with_policy.split("<section id='breaches'>")[1].split("</section>")[0]
    assert "with CRITICAL or HIGH findings (2)" in with_policy

    without = render_report(ReportPage("2026-11-20", ROWS))
    assert "No threshold was given for this report." in without
    assert "The images were not read for this page." in without
    assert "No run manifest with totals yet" in without


def test_the_trend_comes_from_the_run_manifests_storage_in_all_or_per_registry() -> None:
    summaries = [
        {
            "account_id": "111111111111",
            "region": "us-east-1",
            "total_size_bytes": 10,
            "billable_size_bytes": 6,
            "monthly_cost_usd": "0.5000",
        },
        {
            "account_id": "222222222222",
            "region": "eu-west-1",
            "total_size_bytes": 4,
            "billable_size_bytes": 2,
            "monthly_cost_usd": "0.2500",
        },
    ]
    targets = [RegistryTarget("us-east-1"), RegistryTarget("eu-west-1", "arn:aws:iam::222222222222:role/r")]
    records: dict[int, Any] = {
        index: {
            "index": index,
            "breaches": [],
            "target": {"region_name": target.region, "role_arn": target.role_arn},
            "status": "loaded",
            "summary": {
                **summary,
                "report_date": "2026-11-20",
                "keys": {},
                "repositories": 1,
                "images": 1,
                "skipped": [],
                "calls": [],
            },
            "error": None,
        }
        for index, (target, summary) in enumerate(zip(targets, summaries, strict=True))
    }
    outcomes = target_outcomes(targets, cast("dict[int, OutcomeRecord]", records))
    run = RunRecord("2026-11-20", "2026-11-20T00:00:00+00:00", "0.1.0", outcomes)
    manifest = run.manifest(reports=[], removed=[], kept=[])

    assert manifest["storage"]["monthly_cost_usd"] == "0.7500"
    assert trend_point(manifest) == TrendPoint("2026-11-20", 14, 8, Decimal("0.7500"))
    assert trend_point(manifest, Scope(region="eu-west-1")) == TrendPoint(
        "2026-11-20", 4, 2, Decimal("0.2500")
    )
    assert trend_point(manifest, Scope(account_id="333333333333")) is None
    assert trend_point({"report_date": "2026-11-19", "totals": {}}) is None


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_markup_in_every_stored_text_is_escaped() -> None:
    rows = hostile.repositories()
    account, region = rows[0]["accountId"], rows[0]["region"]
    page = ReportPage(
        "2026-11-20",
        rows,
        [TrendPoint("2026-11-20", GB, GB, Decimal(1))],
        risky_images(hostile.images()),
        ThresholdPolicy.from_params(5, None),
        notes=(hostile.payload("note"),),
    )
    document = render_report(page, PageChoices(["2026-11-20", hostile.payload("date")], [(account, region)]))
    parsed = _Elements()
    parsed.feed(document)

    assert [tag for tag, attrs in parsed.tags if hostile.INJECTED in attrs or tag in {"script", "img"}] == []
    assert {"repositoryName", "accountId", "region", "imageTags", "date", "note"} <= {
        field for field in re.findall(r"&lt;b data-injected=&#39;(\w+)&#39;&gt;", document)
    }
