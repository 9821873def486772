"""The registries_summary row of a registry whose repositories share layers, computed here by hand.

Sizes are in MiB. Repository ``a`` holds two images sharing a base and a layer (``shared``); repository
``b`` holds a two-platform index whose children share the base, and an image with ``a``'s ``shared``
layer. By repository: a = base 1000 + shared 200 + configs 1 + 2 = 1203; b = base 1000 + arm 300 +
amd 400 + shared 200 + configs 3 + 4 + 5 = 1912; together 3115. Once per registry: 1000 + 200 + 300 +
400 + configs 1..5 (15) = 1915; held twice across repositories: 1200 (the base and ``shared``).

Nothing runs; ``a2`` and ``b1`` were last pulled long ago, the rest recently, so those two are
reclaimable. Per repository that frees a's config 2 and b's ``shared`` 200 + config 5 = 207; once per
registry ``shared`` is still held by ``a1``: only the configs 2 + 5 = 7.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from ecr_provider.core.blobs import OCI_INDEX, OCI_MANIFEST, BlobRef, ParsedManifest, repository_storage
from ecr_provider.core.columns import IMAGE_COLUMNS, REGISTRY_COLUMNS, REPOSITORY_COLUMNS
from ecr_provider.core.csv_format import ReportCsvWriter, read_canonical
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.records import Image, Repository, RepositorySnapshot
from ecr_provider.core.report import write_reports
from ecr_provider.core.transform import PreviousReport, ReportContext
from ecr_provider.core.usage import RegistryUsage

MIB = 2**20
ACCOUNT, REGION = "111122223333", "eu-west-1"
AS_OF = datetime(2026, 11, 27, tzinfo=UTC)
RECENT, LONG_AGO = datetime(2026, 11, 20, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
PRICE = Decimal("0.10")


def digest(label: str) -> str:
    return f"sha256:{label:0>64}"


BLOBS = {"base": 1000, "shared": 200, "arm": 300, "amd": 400, "c1": 1, "c2": 2, "c3": 3, "c4": 4, "c5": 5}
IMAGE_BLOBS = {
    "a1": ("a", ("c1", "base", "shared")),
    "a2": ("a", ("c2", "base", "shared")),
    "arm64": ("b", ("c3", "base", "arm")),
    "amd64": ("b", ("c4", "base", "amd")),
    "b1": ("b", ("c5", "shared")),
}
INDEX = "idx"
RECLAIMABLE = {"a2", "b1"}


def manifests() -> dict[str, ParsedManifest]:
    found = {
        digest(name): ParsedManifest(
            OCI_MANIFEST, blobs=tuple(BlobRef(digest(blob), BLOBS[blob] * MIB) for blob in blobs)
        )
        for name, (_, blobs) in IMAGE_BLOBS.items()
    }
    found[digest(INDEX)] = ParsedManifest(OCI_INDEX, children=(digest("arm64"), digest("amd64")))
    return found


def image(repository: str, name: str, **fields: Any) -> Image:
    pulled = LONG_AGO if name in RECLAIMABLE else RECENT
    size = sum(BLOBS[blob] for blob in IMAGE_BLOBS[name][1]) * MIB if name in IMAGE_BLOBS else 0
    return Image.from_api(
        {
            "repositoryName": repository,
            "imageDigest": digest(name),
            "imageSizeInBytes": size,
            "imagePushedAt": LONG_AGO,
            "lastRecordedPullTime": pulled,
            "imageManifestMediaType": OCI_INDEX if name == INDEX else OCI_MANIFEST,
            **fields,
        }
    )


def snapshot(name: str, images: tuple[Image, ...], *, read: bool) -> RepositorySnapshot:
    repository = Repository.from_api(
        {"repositoryArn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}", "repositoryName": name}
    )
    storage = repository_storage(manifests(), {each.digest: each.size_bytes for each in images})
    return RepositorySnapshot(repository, images, storage=storage if read else None)


def registry(
    blob_mounting: str, *, read: bool = True, previous: PreviousReport | None = None
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The registry row and the repository rows, as the CSVs hold them."""
    context = ReportContext(
        as_of=AS_OF,
        prices=StoragePrices(PRICE, None, "override"),
        previous=previous,
        usage=RegistryUsage(),
        account_id=ACCOUNT,
        region=REGION,
        blob_mounting=blob_mounting,
        usage_sources=("ECS", "Lambda"),
    )
    a = snapshot("a", (image("a", "a1", imageTags=["v1"]), image("a", "a2")), read=read)
    b_images = (
        image("b", INDEX, imageTags=["prod"]),
        image("b", "arm64"),
        image("b", "amd64"),
        image("b", "b1"),
    )
    b = snapshot("b", b_images, read=read)
    outputs = {report: io.StringIO() for report in ("repositories", "images", "registries")}
    write_reports(
        [(a, context), (b, context)],
        ReportCsvWriter(outputs["repositories"], REPOSITORY_COLUMNS),
        ReportCsvWriter(outputs["images"], IMAGE_COLUMNS),
        ReportCsvWriter(outputs["registries"], REGISTRY_COLUMNS),
        [context],
    )
    read_back = {
        name: list(read_canonical(io.StringIO(out.getvalue(), newline=""))) for name, out in outputs.items()
    }
    [row] = read_back["registries"]
    return row, read_back["repositories"]


def usd(mib: int) -> str:
    return str((Decimal(mib) / 1024 * PRICE).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def test_blob_mounting_enabled_prices_each_blob_once_per_registry() -> None:
    row, repositories = registry("ENABLED")

    assert {repository["repositoryName"]: repository["uniqueBlobBytes"] for repository in repositories} == {
        "a": str(1203 * MIB),
        "b": str(1912 * MIB),
    }
    assert row == {
        "accountId": ACCOUNT,
        "region": REGION,
        "repositories": "2",
        "images": "6",
        "blobMounting": "ENABLED",
        "repositoryUniqueBlobBytes": str(3115 * MIB),
        "registryUniqueBlobBytes": str(1915 * MIB),
        "crossRepositoryDuplicateBytes": str(1200 * MIB),
        "monthlyStorageCost(USD)": usd(1915),
        "reclaimableBytes": str(7 * MIB),
        "reclaimableCost(USD)": usd(7),
        "archivedBytes": "0",
        "costBasis": "registry-unique-blobs",
        "billableSizeBytes": str(1915 * MIB),
        "totalSizeBytes": str((1201 + 1202 + 1303 + 1404 + 205) * MIB),
        "pricePerGbMonth(USD)": "0.1000",
        "priceSource": "override",
        "asOf": "2026-11-27 00:00:00",
        "repositoriesMonthlyCost(USD)": "0.3042",
        "previousReportDate": "",
        "repositoriesSizeChangeBytes": "",
        "repositoriesCostChange(USD)": "",
        "usageSources": '["ECS","Lambda"]',
    }


@pytest.mark.parametrize("blob_mounting", ["DISABLED", ""])
def test_without_blob_mounting_the_registry_is_the_sum_of_its_repository_rows(blob_mounting: str) -> None:
    row, repositories = registry(blob_mounting)

    column_sum = sum(Decimal(repository["monthlyStorageCost(USD)"]) for repository in repositories)
    reclaimable_sum = sum(
        Decimal(repository["reclaimableMonthlySavings(USD)"]) for repository in repositories
    )
    assert (row["blobMounting"], row["costBasis"]) == (blob_mounting, "repositories")
    assert row["monthlyStorageCost(USD)"] == str(column_sum) == "0.3042"
    assert usd(1203) == "0.1175"
    assert usd(1912) == "0.1867"
    assert (row["billableSizeBytes"], row["registryUniqueBlobBytes"]) == (str(3115 * MIB), str(1915 * MIB))
    assert row["crossRepositoryDuplicateBytes"] == str(1200 * MIB)
    assert row["reclaimableBytes"] == str(207 * MIB)
    assert row["reclaimableCost(USD)"] == str(reclaimable_sum) == "0.0202"


def test_when_manifests_were_not_read_the_blob_figures_are_empty_and_image_sizes_are_priced() -> None:
    row, repositories = registry("ENABLED", read=False)

    assert row["costBasis"] == "repositories"
    assert [row[column] for column in ("repositoryUniqueBlobBytes", "registryUniqueBlobBytes")] == ["", ""]
    assert row["crossRepositoryDuplicateBytes"] == ""
    assert row["billableSizeBytes"] == row["totalSizeBytes"] == str((1201 + 1202 + 1303 + 1404 + 205) * MIB)
    assert row["monthlyStorageCost(USD)"] == str(
        sum(Decimal(repository["monthlyStorageCost(USD)"]) for repository in repositories)
    )


def test_a_registry_without_repositories_still_has_its_row_in_order() -> None:
    prices = StoragePrices(PRICE, None, "override")
    empty = ReportContext(as_of=AS_OF, prices=prices, account_id=ACCOUNT, region="us-east-1")
    full = ReportContext(
        as_of=AS_OF,
        prices=prices,
        usage=RegistryUsage(),
        account_id=ACCOUNT,
        region=REGION,
        blob_mounting="DISABLED",
    )
    out = io.StringIO()
    only = snapshot("a", (replace(image("a", "a1"), tags=("v1",)),), read=True)

    tally = write_reports(
        [(only, full)],
        ReportCsvWriter(io.StringIO(), REPOSITORY_COLUMNS),
        ReportCsvWriter(io.StringIO(), IMAGE_COLUMNS),
        ReportCsvWriter(out, REGISTRY_COLUMNS),
        [empty, full],
    )

    rows = list(read_canonical(io.StringIO(out.getvalue(), newline="")))
    assert [(row["region"], row["repositories"], row["images"]) for row in rows] == [
        ("us-east-1", "0", "0"),
        (REGION, "1", "1"),
    ]
    assert rows[0]["monthlyStorageCost(USD)"] == "0.0000"
    assert rows[0]["registryUniqueBlobBytes"] == "0"
    assert rows[1]["registryUniqueBlobBytes"] == str(1201 * MIB)
    assert (tally.repositories, tally.images) == (1, 1)


def test_the_change_since_the_previous_date_counts_repositories_gone_and_new_on_the_repositories_basis() -> (
    None
):
    """Before: ``a`` at 1000 MiB and USD 0.0977, ``gone`` at 500 MiB and USD 0.0488; ``b`` is new."""
    previous = PreviousReport(
        "2026-11-20", {"a": (1000 * MIB, Decimal("0.0977")), "gone": (500 * MIB, Decimal("0.0488"))}
    )

    row, repositories = registry("ENABLED", previous=previous)

    assert row["previousReportDate"] == "2026-11-20"
    assert row["repositoriesSizeChangeBytes"] == str((3115 - 1500) * MIB)
    assert row["repositoriesCostChange(USD)"] == str(
        Decimal("0.3042") - Decimal("0.0977") - Decimal("0.0488")
    )
    assert row["repositoriesMonthlyCost(USD)"] == str(
        sum(Decimal(repository["monthlyStorageCost(USD)"]) for repository in repositories)
    )
    assert row["monthlyStorageCost(USD)"] == usd(1915)
