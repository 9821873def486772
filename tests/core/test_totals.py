"""A total is the sum of the CSV's rounded row costs: what a person adding the column gets."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

from ecr_provider.core.columns import IMAGE_COLUMNS, REGISTRY_COLUMNS, REPOSITORY_COLUMNS
from ecr_provider.core.csv_format import ReportCsvWriter, read_canonical
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.records import Image, Repository, RepositorySnapshot
from ecr_provider.core.report import write_reports
from ecr_provider.core.totals import total_usd
from ecr_provider.core.transform import ReportContext
from ecr_provider.core.usage import RegistryUsage

CONTEXT = ReportContext(
    as_of=datetime(2026, 11, 27, tzinfo=UTC),
    prices=StoragePrices(Decimal("0.10"), None, "override"),
    usage=RegistryUsage(),
)
SIZE = 600_000
"""600,000 B / 2^30 x USD 0.10 = USD 0.0000558...: each row shows 0.0001, three of them unrounded 0.0002."""


def snapshot(name: str) -> RepositorySnapshot:
    repository = Repository.from_api(
        {"repositoryArn": f"arn:aws:ecr:eu-west-1:111122223333:repository/{name}", "repositoryName": name}
    )
    image = Image.from_api(
        {"repositoryName": name, "imageDigest": f"sha256:{name}", "imageSizeInBytes": SIZE}
    )
    return RepositorySnapshot(repository, (image,))


def test_the_tally_is_the_sum_of_the_rounded_row_costs_the_csv_holds() -> None:
    out = io.StringIO()
    tally = write_reports(
        [(snapshot(name), CONTEXT) for name in ("a", "b", "c")],
        ReportCsvWriter(out, REPOSITORY_COLUMNS),
        ReportCsvWriter(io.StringIO(), IMAGE_COLUMNS),
        ReportCsvWriter(io.StringIO(), REGISTRY_COLUMNS),
        [CONTEXT],
    )

    rows = list(read_canonical(io.StringIO(out.getvalue(), newline="")))
    assert [row["monthlyStorageCost(USD)"] for row in rows] == ["0.0001"] * 3
    assert tally.as_dict()["monthly_cost_usd"] == "0.0003"
    assert Decimal(3 * SIZE) / 2**30 * Decimal("0.10") < Decimal("0.00025")


def test_a_total_rounds_each_cost_half_up_once_and_leaves_rounded_ones_alone() -> None:
    assert total_usd([Decimal("0.00005"), Decimal("0.00005")]) == Decimal("0.0002")
    assert total_usd([Decimal("1.2345"), Decimal("0.0001")]) == Decimal("1.2346")
    assert total_usd([]) == Decimal(0)
