"""The console command's page, in Chromium, for a run of the demo registry that read its manifests and
one that did not: the storage basis, the note that says how to turn manifests on, and the headline
figures are the CSV's, computed here as a person would from the files the run wrote."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from ecr_provider.aws.manifests import InMemoryManifestCache
from ecr_provider.aws.registry import RegistryClients, open_registry
from ecr_provider.cli import write_html_report
from ecr_provider.core.columns import IMAGES_REPORT, REPOSITORIES_REPORT
from ecr_provider.core.csv_format import CANONICAL, read_canonical
from ecr_provider.core.options import RegistryOptions
from ecr_provider.report_files import write_registry_report
from emulator.demo_registry import seed_demo_registry
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.browser.test_html_report_in_chromium import gb, usd
from tests.chromium import ARTIFACTS

pytestmark = pytest.mark.integration

REGION = "us-east-1"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
Row = dict[str, str]


@pytest.fixture(scope="module")
def runs(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One run that reads every manifest ("always") and one that reads none, into folders of their own."""
    seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)
    folders = {}
    for mode in ("always", "never"):
        registry = open_registry(
            RegistryClients.connect(
                partial(client, endpoint_url=emulator.endpoint_url, region=REGION), REGION, ACCOUNT_ID
            ),
            RegistryOptions(read_manifests=mode, max_concurrency=4, price_per_gb_month=Decimal("0.10")),
            as_of=AS_OF,
            manifest_cache=InMemoryManifestCache(),
            pricing_client=lambda: None,
            price_cache={},
        )
        folder = tmp_path_factory.mktemp(mode)
        report = write_registry_report([registry], folder)
        write_html_report(report, folder, CANONICAL, AS_OF.date().isoformat())
        folders[mode] = folder
    return folders


def rows(folder: Path, report: str) -> list[Row]:
    (path,) = folder.glob(f"{report}*.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(read_canonical(handle))


@pytest.mark.parametrize("mode", ["always", "never"])
def test_the_storage_basis_and_headline_are_the_csvs(browser: Any, runs: dict[str, Path], mode: str) -> None:
    folder = runs[mode]
    repositories = rows(folder, REPOSITORIES_REPORT)
    images = rows(folder, IMAGES_REPORT)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto((folder / "report.html").as_uri())

    def text(selector: str) -> str:
        return str(page.locator(selector).inner_text()).strip()

    bases = {row["costBasis"] for row in repositories}
    if mode == "always":
        assert bases == {"unique-blobs"}
        assert text("[data-figure=cost-basis]") == "unique blobs (what ECR bills)"
        assert page.locator("[data-note=manifests-unread]").count() == 0
        assert all(row["billableSizeBytes"] == row["uniqueBlobBytes"] for row in repositories)
    else:
        assert bases == {"image-size"}
        assert text("[data-figure=cost-basis]").startswith("image sizes (manifests not read")
        note = text("[data-note=manifests-unread]")
        assert note.startswith(f"Manifests were not read for {len(repositories)} of {len(repositories)}")
        assert "read_manifests" in note
        assert "pull-time" in note
    assert text("[data-figure=repositories]") == str(len(repositories))
    assert text("[data-figure=monthly-cost]") == usd(
        sum((Decimal(row["monthlyStorageCost(USD)"]) for row in repositories), Decimal(0))
    )
    assert text("[data-figure=unique-blob-gb]") == gb(
        sum(int(row["billableSizeBytes"]) for row in repositories)
    )
    assert text("[data-figure=image-size-gb]") == gb(sum(int(row["totalSizeBytes"]) for row in repositories))
    trend_cost = page.locator("#trend tbody tr td").nth(1).inner_text()
    assert trend_cost == text("[data-figure=monthly-cost]"), "one total, shown identically"
    running = [image for image in images if image["inUse"] == "true"]
    risky = [i for i in running if int(i["findingsCritical"] or 0) or int(i["findingsHigh"] or 0)]
    assert text("#risky h2").endswith(f"({len(risky)})")
    assert {cell.strip() for cell in page.locator("#risky td:last-child").all_text_contents()} == {
        ", ".join(json.loads(image["inUseBy"])) for image in risky
    }

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-page-manifests-{mode}.png"), full_page=True)
    context.close()


def test_reading_manifests_lowers_the_billable_storage_below_the_image_sizes(runs: dict[str, Path]) -> None:
    read = rows(runs["always"], REPOSITORIES_REPORT)
    unread = rows(runs["never"], REPOSITORIES_REPORT)
    assert sum(int(r["totalSizeBytes"]) for r in read) == sum(int(r["totalSizeBytes"]) for r in unread)
    assert sum(int(r["billableSizeBytes"]) for r in read) < sum(int(r["billableSizeBytes"]) for r in unread)
