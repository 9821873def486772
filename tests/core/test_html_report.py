"""The HTML report builder on hand-built rows: the figures it computes, and the document it writes."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any, cast

import pytest

from ecr_provider.core.columns import IMAGE_COLUMNS, REPOSITORY_COLUMNS
from ecr_provider.core.html_report import (
    PageChoices,
    ReportPage,
    RunDecision,
    Scope,
    TrendPoint,
    degraded_registries,
    page_images,
    trend_point,
    usage_sources,
)
from ecr_provider.core.run_manifest import OutcomeRecord, RunRecord, target_outcomes
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.core.thresholds import ThresholdPolicy, find_breaches
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
        totalImages="2",
        costBasis="unique-blobs",
        lifecyclePolicySource="recommended",
        priceSource="price-list",
        asOf="2026-11-20 00:00:00",
        reclaimAfterDays="90",
        **{
            "monthlyStorageCost(USD)": cost,
            "lifecycleMonthlySavings(USD)": "0.0000",
            "pricePerGbMonth(USD)": "0.1000",
            "archivePricePerGbMonth(USD)": "0.0025",
        },
    )
    row.update(values)
    return row


def image(
    name: str, critical: str, high: str, days: str, *, in_use: str = "true", **values: str
) -> dict[str, str]:
    row = dict.fromkeys((column.header for column in IMAGE_COLUMNS), "")
    row.update(
        repositoryName=name,
        accountId="111111111111",
        region="us-east-1",
        imageDigest="sha256:" + name.encode().hex().ljust(64, "0"),
        imageTags='["v1"]',
        imageScanStatus="COMPLETE",
        imageSizeBytes=str(GB),
        findingsCritical=critical,
        findingsHigh=high,
        daysSinceLastPull=days,
        inUse=in_use,
        inUseBy='["ecs:prod/web"]' if in_use == "true" else "[]",
    )
    row.update(values)
    return row


ROWS = [
    repository("small", "0.1000", 1, daysSinceLastPull="3"),
    repository(
        "big",
        "2.5000",
        25,
        lifecyclePolicyText=POLICY,
        lifecyclePolicySource="repository",
        **{"lifecycleMonthlySavings(USD)": "0.7500"},
    ),
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
    savings = page.savings()
    assert (savings.reclaimable.usd, savings.reclaimable.repositories) == ("0.6000", 1)
    assert (savings.existing_policies.usd, savings.existing_policies.repositories) == ("0.7500", 1)
    assert (savings.recommended_policy.usd, savings.recommended_policy.repositories) == ("0.2500", 1)


def test_every_bar_and_point_carries_its_number_and_the_page_has_no_network_reference() -> None:
    trend = [
        TrendPoint("2026-11-19", 70 * GB, 35 * GB, Decimal("3.5")),
        TrendPoint("2026-11-20", 72 * GB, 36 * GB, Decimal("3.6")),
    ]
    document = render_report(ReportPage("2026-11-20", ROWS, trend, page_images([], ROWS)))

    bars = texts(document, "costliest")
    assert "USD 2.5000 · never pulled · lifecycle policy" in bars
    assert "USD 0.1000 · last pull 3 days ago · no lifecycle policy" in bars
    points = texts(document, "trend")
    assert {
        "3.5000",
        "monthly cost: 3.6000",
        "35.00",
        "billable: 36.00",
        "70.00",
        "image sizes: 72.00",
    } <= (set(points))
    assert "<dd data-figure='monthly-cost'>3.6000</dd>" in document
    assert "<tr data-saving='reclaimable-now'><td>" in document
    assert "prefers-color-scheme: dark" in document
    assert not re.search(
        r"(src|href)=['\"]https?://(?!\w[\w-]*\.console\.aws\.amazon\.com/athena/)", document
    )
    assert "<script" not in document
    assert document.count("data-query='ecr_report.") == 6


def test_breaches_and_running_images_are_listed_or_said_to_be_absent() -> None:
    images = page_images(
        [
            image("old", "2", "0", "120"),  # runs although not pulled for 120 days
            image("hot", "0", "3", "1"),
            image("worst", "1", "0", "0"),
            image("clean", "0", "0", "0"),
            image("idle", "5", "5", "1", in_use="false"),  # pulled yesterday, but nothing runs it
            image("blind", "", "", "2", imageScanStatus="FAILED"),
            image("never", "", "", "", imageScanStatus=""),
        ],
        ROWS,
    )
    assert [(i.repository_name, i.critical, i.high) for i in images.running_risky] == [
        ("old", 2, 0),
        ("worst", 1, 0),
        ("hot", 0, 3),
    ]
    assert [i.repository_name for i in images.running_unscanned] == ["blind", "never"]
    assert [i.repository_name for i in images.pull_time_would_delete] == []  # no row of theirs: no limit
    limits = [repository(name, "0.1000", 1) for name in ("old", "never")]
    assert [
        i.repository_name
        for i in page_images(
            [image("old", "2", "0", "120"), image("never", "", "", "")], limits
        ).pull_time_would_delete
    ] == ["old", "never"]

    with_policy = render_report(
        ReportPage("2026-11-20", ROWS, images=images, policy=ThresholdPolicy.from_params(5, {"big": 30}))
    )
    assert "Repositories over their threshold (1)" in with_policy
    assert "<td>idle</td>" in with_policy.split("<section id='breaches'>")[1].split("</section>")[0]
    assert "Running images with CRITICAL or HIGH findings (3)" in with_policy
    assert "<td>ecs:prod/web</td>" in with_policy
    assert "Running images never scanned or whose scan failed (2)" in with_policy

    without = render_report(ReportPage("2026-11-20", ROWS))
    assert "No threshold was given for this report." in without
    assert "The images were not read for this page." in without
    assert "No run manifest with totals yet" not in without  # the page's own date is a point


def test_the_run_decision_wins_over_any_threshold_and_names_the_alert() -> None:
    over = find_breaches(ROWS, ThresholdPolicy.from_params(5, None))
    decided = RunDecision(over[:1], {"sent_at": "2026-11-20T01:00:00+00:00", "alerted": ["a/b/big"]})
    document = render_report(
        ReportPage("2026-11-20", ROWS, policy=ThresholdPolicy.from_params(50, None), decision=decided)
    )
    section = document.split("<section id='breaches'>")[1].split("</section>")[0]
    assert "Repositories over their threshold (1)" in section
    assert "As that run decided it" in section
    assert "The SNS alert went out 2026-11-20T01:00:00+00:00, naming 1 repository: a/b/big." in section
    nothing = render_report(ReportPage("2026-11-20", ROWS, decision=RunDecision(None, None)))
    assert "That run recorded no repository over its threshold." in nothing
    assert "No SNS alert went out for this date." in nothing


def test_the_cost_basis_label_follows_the_rows_and_says_when_manifests_were_not_read() -> None:
    assert ReportPage("d", ROWS).cost_basis == "unique blobs (what ECR bills)"
    assert ReportPage("d", ROWS).manifests_unread is None
    mixed = [*ROWS[:2], {**ROWS[2], "costBasis": "image-size"}]
    page = ReportPage("d", mixed)
    assert page.cost_basis == (
        "1 repositories on image sizes (manifests not read: shared layers counted once per image); "
        "2 repositories on unique blobs (what ECR bills)"
    )
    assert page.manifests_unread is not None
    assert page.manifests_unread.startswith("Manifests were not read for 1 of 3 repositories")
    assert "read_manifests" in render_report(page)


def test_context_change_roll_ups_and_registries() -> None:
    rows = [
        {
            **ROWS[0],
            "previousReportDate": "2026-11-19",
            "sizeChangeBytes": str(GB),
            "costChange(USD)": "0.1000",
        },
        {
            **ROWS[1],
            "accountId": "222222222222",
            "region": "eu-west-1",
            "archivedSizeBytes": str(2 * GB),
            "archivedImages": "3",
            "archivedMonthlyCost(USD)": "0.0050",
            "untaggedImages": "4",
        },
        {
            **ROWS[2],
            "previousReportDate": "2026-11-19",
            "sizeChangeBytes": str(-3 * GB),
            "costChange(USD)": "-0.3000",
        },
    ]
    registry = {
        "accountId": "111111111111",
        "region": "us-east-1",
        "repositories": "2",
        "images": "4",
        "blobMounting": "DISABLED",
        "repositoryUniqueBlobBytes": str(11 * GB),
        "registryUniqueBlobBytes": str(8 * GB),
        "crossRepositoryDuplicateBytes": str(3 * GB),
        "monthlyStorageCost(USD)": "1.1000",
        "reclaimableBytes": "0",
        "reclaimableCost(USD)": "0.0000",
        "archivedBytes": "0",
        "usageSources": '["ECS","Inspector"]',
    }
    page = ReportPage("2026-11-20", rows, registries=[registry], degraded=("222222222222 eu-west-1: denied",))
    change = page.change()
    assert (change.previous_dates, change.size_change_bytes, change.cost_change_usd) == (
        ("2026-11-19",),
        -2 * GB,
        "-0.2000",
    )
    assert [row["repositoryName"] for row in change.movers] == ["idle", "small"]
    assert [(r.key, r.repositories, r.monthly_cost_usd) for r in page.roll_up("accountId")] == [
        ("222222222222", 1, "2.5000"),
        ("111111111111", 2, "1.1000"),
    ]
    assert (page.archived.size_bytes, page.archived.images, page.archived.usd) == (2 * GB, 3, "0.0050")
    assert page.untagged_images == 4
    assert [row["repositoryName"] for row in page.without_lifecycle_policy()] == ["idle", "small"]
    document = render_report(page)
    assert "<span data-figure='cost-change'>-0.2000</span>" in document
    assert "enabling it could save 3.00 GiB on new pushes" in document
    assert "<li>222222222222 eu-west-1: denied</li>" in document
    assert "<span data-figure='accounts'>" not in document  # a dd, not a span
    assert "<dd data-figure='accounts'>2</dd>" in document
    assert "<dd data-figure='unit'>GiB = 2^30 bytes</dd>" in document
    assert "<td>price-list</td><td class='num'>0.1000</td>" in document
    assert "<td>ECS, Inspector</td></tr>" in document


@pytest.mark.parametrize(
    ("cell", "shown"),
    [('["ECS","Lambda"]', "ECS, Lambda"), ("[]", "none (use unknown)"), (None, "not recorded")],
)
def test_usage_sources_read_as_a_person_reads_them_also_in_reports_from_before_the_column(
    cell: str | None, shown: str
) -> None:
    assert usage_sources(cell) == shown


def test_degraded_registries_come_from_the_manifest_targets() -> None:
    manifest = {
        "targets": [
            {"account_id": "1", "region": "us-east-1", "error": "AccessDenied: ecr:DescribeRepositories"},
            {
                "account_id": "2",
                "region": "eu-west-1",
                "findings_error": "inspector2:ListFindings denied",
                "skipped": [{"name": "gone", "reason": "RepositoryNotFoundException"}],
            },
        ]
    }
    assert degraded_registries(manifest) == (
        "1 us-east-1: AccessDenied: ecr:DescribeRepositories",
        "2 eu-west-1: image_findings: inspector2:ListFindings denied",
        "2 eu-west-1: repository gone: RepositoryNotFoundException",
    )
    assert degraded_registries(manifest, Scope("2", "eu-west-1"))[0].startswith("2 eu-west-1")


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
    manifest = run.manifest(reports=[], generation="20261120T000000Z-00000000", removed=[])

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
        page_images(hostile.images(), rows),
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
