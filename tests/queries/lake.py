"""A data lake of demo reports laid out as in S3, for running the shipped queries on DuckDB.

The demo registry is seeded in two regions and reported on four dates (the latest, one day, seven
days and thirty days before it), one CSV per report, date, account and region. Between the dates
some repositories grow and one repository is missing for a day, so trends have changes and gaps.
Blob mounting is enabled in one region.
Each report has exactly the columns of ``core.columns.REPORTS``, as the report tasks write them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

from ecr_provider.aws.manifests import InMemoryManifestCache
from ecr_provider.aws.registry import RegistryClients, open_registry
from ecr_provider.core import units
from ecr_provider.core.columns import (
    FINDINGS_REPORT,
    IMAGES_REPORT,
    REGISTRIES_REPORT,
    REPORTS,
    REPOSITORIES_REPORT,
    Column,
)
from ecr_provider.core.csv_format import canonical_line, read_canonical
from ecr_provider.core.options import RegistryOptions
from ecr_provider.report_files import write_registry_report
from emulator.demo_registry import seed_demo_registry
from emulator.server import ACCOUNT_ID, Emulator, client

LATEST = datetime(2026, 11, 20, tzinfo=UTC)
DAYS_BEFORE_LATEST = (30, 7, 1, 0)
REGION_PRICES = {"us-east-1": Decimal("0.10"), "eu-west-1": Decimal("0.11")}
GROWTH_STEP_BYTES = 7 * units.MB
FINDINGS_MAX_AGE_DAYS = 30
BLOB_MOUNTING_REGION = "eu-west-1"
"""The registry with blob mounting enabled; the other has it disabled (ECR's default)."""
MISSING = ("us-east-1", 1, "tools/kubectl")
"""(region, days before the latest date, repository) left out of that day's repositories report."""

Row = dict[str, str]


@dataclass(frozen=True)
class Lake:
    root: Path
    reports: dict[str, tuple[Column, ...]]

    def rows(self, report: str) -> list[Row]:
        """Every CSV row of a report, with the partition's ``report_date`` added."""
        found: list[Row] = []
        for path in sorted((self.root / report).glob("report_date=*/*.csv")):
            report_date = path.parent.name.removeprefix("report_date=")
            with path.open(encoding="utf-8", newline="") as handle:
                found.extend({**row, "report_date": report_date} for row in read_canonical(handle))
        return found


def build_lake(root: Path) -> Lake:
    columns = REPORTS
    with Emulator() as emulator, tempfile.TemporaryDirectory(prefix="ecr-lake-") as workdir:
        for region in REGION_PRICES:
            seed_demo_registry(emulator.endpoint_url, region, LATEST)
        client("ecr", emulator.endpoint_url, BLOB_MOUNTING_REGION).put_account_setting(
            name="BLOB_MOUNTING", value="ENABLED"
        )
        for days_before in DAYS_BEFORE_LATEST:
            as_of = LATEST - timedelta(days=days_before)
            for region_number, (region, price) in enumerate(REGION_PRICES.items()):
                registry = open_registry(
                    RegistryClients.connect(
                        partial(client, endpoint_url=emulator.endpoint_url, region=region),
                        region,
                        ACCOUNT_ID,
                    ),
                    RegistryOptions(
                        read_manifests="never",
                        max_concurrency=4,
                        findings_max_age_days=FINDINGS_MAX_AGE_DAYS,
                        price_per_gb_month=price,
                    ),
                    as_of=as_of,
                    manifest_cache=InMemoryManifestCache(),
                    pricing_client=lambda: None,
                    price_cache={},
                )
                out = Path(workdir) / f"{as_of.date()}-{region}"
                out.mkdir()
                files = write_registry_report([registry], out).files
                images = _read(files[IMAGES_REPORT])
                repositories = [
                    _grown(row, number, region_number, days_before)
                    for number, row in enumerate(_read(files[REPOSITORIES_REPORT]))
                    if (region, days_before, row["repositoryName"]) != MISSING
                ]
                findings = _read(files[FINDINGS_REPORT])
                for report, rows in (
                    (REPOSITORIES_REPORT, repositories),
                    (IMAGES_REPORT, images),
                    (FINDINGS_REPORT, findings),
                    (REGISTRIES_REPORT, _read(files[REGISTRIES_REPORT])),
                ):
                    target = root / report / f"report_date={as_of.date()}" / f"{ACCOUNT_ID}-{region}.csv"
                    _write(target, [column.header for column in columns[report]], rows)
    return Lake(root, columns)


def _read(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(read_canonical(handle))


def _write(path: Path, headers: list[str], rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(canonical_line(headers))
        handle.writelines(canonical_line(row[header] for header in headers) for row in rows)


def _grown(row: Row, number: int, region_number: int, days_before: int) -> Row:
    """Repositories grow towards the latest date, by amounts that differ per repository and region."""
    extra = (number % 4) * (30 - days_before) * (1 + region_number) * GROWTH_STEP_BYTES
    total = int(row["totalSizeBytes"]) + extra
    billable = int(row["billableSizeBytes"]) + extra
    cost = units.monthly_cost(billable, Decimal(row["pricePerGbMonth(USD)"]))
    return {
        **row,
        "totalSizeBytes": str(total),
        "billableSizeBytes": str(billable),
        "totalSize(MB)": units.megabytes(total),
        "monthlyStorageCost(USD)": units.usd(cost),
    }
