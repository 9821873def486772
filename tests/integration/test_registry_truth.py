"""registries_summary end to end, through the DAG (in process) and the console command, against truth.

The demo registry is seeded in two regions of their own, with the reporting principal excluded from
pull-time updates (so manifests are read): blob mounting ENABLED in one, left DISABLED (ECR's default)
in the other. Its repositories share layers across repositories (base images), within one (images of
one repository share dependencies) and through indexes (the children of a multi-platform index share
their platform's base layers with other images). The blob figures come from the seeded blobs
(``SeededImage.blobs``), never from the code under test; the verdicts and prices are read from the
same run's CSVs, as a person would.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from ecr_provider import cli
from ecr_provider.aws.manifests import reporting_principal_arn
from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.layout import run_manifest_key
from emulator.demo_registry import DemoRegistry, SeededImage, seed_demo_registry
from emulator.destination import ReportDestination
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.integration.conftest import AS_OF, REPORT_DATE, RunDag, visible_generation

pytestmark = pytest.mark.integration

MOUNTING = {"sa-east-1": "ENABLED", "ap-south-1": "DISABLED"}
"""No other test uses these regions: the setting and the exclusion stay theirs."""
PREFIX = "registry-truth"
GIB = Decimal(2**30)
CENT = Decimal("0.0001")

Row = dict[str, str]


@dataclass(frozen=True)
class Run:
    """One run's CSV rows, by report, and the registries' storage as its run manifest holds it."""

    registries: dict[str, Row]
    repositories: list[Row]
    images: list[Row]
    manifest_storage: dict[str, str] | None

    def of(self, region: str) -> list[Row]:
        """The repository rows of one registry."""
        return [repository for repository in self.repositories if repository["region"] == region]


def distinct_blobs(images: Iterable[SeededImage]) -> dict[str, int]:
    return {blob.digest: blob.size_bytes for image in images for blob in image.blobs}


def cost(size_bytes: int, price: str) -> Decimal:
    return Decimal(size_bytes) / GIB * Decimal(price)


def usd(amount: Decimal) -> str:
    return str(amount.quantize(CENT, ROUND_HALF_UP))


def rows_of(text: str) -> list[Row]:
    return list(read_canonical(io.StringIO(text, newline="")))


@pytest.fixture(scope="module")
def registries(emulator: Emulator) -> dict[str, DemoRegistry]:
    seeded = {}
    for region, mounting in MOUNTING.items():
        seeded[region] = seed_demo_registry(emulator.endpoint_url, region, AS_OF)
        ecr = client("ecr", emulator.endpoint_url, region)
        ecr.register_pull_time_update_exclusion(
            principalArn=reporting_principal_arn(client("sts", emulator.endpoint_url, region))
        )
        if mounting == "ENABLED":
            ecr.put_account_setting(name="BLOB_MOUNTING", value=mounting)
    return seeded


@pytest.fixture(scope="module")
def dag_run(
    emulator: Emulator, destination: ReportDestination, run_dag: RunDag, registries: dict[str, DemoRegistry]
) -> Run:
    run_dag({"regions": sorted(MOUNTING), "report_bucket": destination.bucket, "report_prefix": PREFIX})
    s3 = client("s3", emulator.endpoint_url, "us-east-1")

    generation = visible_generation(emulator, destination.bucket, PREFIX)

    def read(report: str, region: str) -> str:
        key = f"{PREFIX}/{report}/report_date={REPORT_DATE}/generation={generation}/{ACCOUNT_ID}-{region}.csv"
        return str(s3.get_object(Bucket=destination.bucket, Key=key)["Body"].read().decode("utf-8"))

    manifest = json.loads(
        s3.get_object(Bucket=destination.bucket, Key=run_manifest_key(PREFIX, REPORT_DATE))["Body"].read()
    )
    return Run(
        {region: row for region in MOUNTING for row in rows_of(read("registries_summary", region))},
        [row for region in MOUNTING for row in rows_of(read("repositories_summary", region))],
        [row for region in MOUNTING for row in rows_of(read("images_summary", region))],
        {part["region"]: part["monthly_cost_usd"] for part in manifest["storage"]["registries"]},
    )


@pytest.fixture(scope="module")
def cli_run(
    emulator: Emulator,
    registries: dict[str, DemoRegistry],
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    out = tmp_path_factory.mktemp("registry-truth-cli")
    arguments = ["--output-dir", str(out), "--as-of", AS_OF.isoformat(), "--price-per-gb-month", "0.10"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
        assert cli.run([*arguments, *(f"--region={region}" for region in sorted(MOUNTING))]) == 0

    def read(report: str) -> list[Row]:
        return rows_of((Path(out) / f"{report}.csv").read_text(encoding="utf-8"))

    return Run(
        {row["region"]: row for row in read("registries_summary")},
        read("repositories_summary"),
        read("images_summary"),
        None,
    )


@pytest.fixture(params=["dag", "cli"])
def run(request: pytest.FixtureRequest) -> Run:
    found: Run = request.getfixturevalue(f"{request.param}_run")
    return found


def test_the_demo_shares_layers_in_every_way_the_figures_must_handle(
    registries: dict[str, DemoRegistry],
) -> None:
    registry = next(iter(registries.values()))
    holders: dict[str, set[str]] = {}
    for repository in registry.repositories:
        for blob in distinct_blobs(repository.images):
            holders.setdefault(blob, set()).add(repository.name)
    within = [
        repository.name
        for repository in registry.repositories
        if sum(len(image.blobs) for image in repository.images) > len(distinct_blobs(repository.images))
    ]
    through_index = [
        index
        for index in registry.images
        if index.child_digests
        and distinct_blobs(image for image in registry.images if image.digest in index.child_digests).keys()
        & distinct_blobs(image for image in registry.images if image.digest not in index.child_digests).keys()
    ]
    assert any(len(names) > 1 for names in holders.values())
    assert within
    assert through_index


@pytest.mark.parametrize("region", sorted(MOUNTING))
def test_the_blob_figures_are_the_seeded_blobs(
    run: Run, registries: dict[str, DemoRegistry], region: str
) -> None:
    registry, row, repositories = registries[region], run.registries[region], run.of(region)
    by_repository = sum(
        sum(distinct_blobs(repository.images).values()) for repository in registry.repositories
    )
    once = sum(distinct_blobs(registry.images).values())

    assert (row["accountId"], row["blobMounting"]) == (ACCOUNT_ID, MOUNTING[region])
    assert (int(row["repositories"]), int(row["images"])) == (
        len(registry.repositories),
        len(registry.images),
    )
    assert int(row["repositoryUniqueBlobBytes"]) == by_repository
    assert int(row["registryUniqueBlobBytes"]) == once
    assert int(row["crossRepositoryDuplicateBytes"]) == by_repository - once > 0
    assert int(row["totalSizeBytes"]) == sum(image.size_bytes for image in registry.images)
    assert int(row["archivedBytes"]) == sum(
        int(repository["archivedSizeBytes"]) for repository in repositories
    )


@pytest.mark.parametrize("region", sorted(MOUNTING))
def test_cost_and_reclaimable_follow_the_registrys_billing_basis(
    run: Run, registries: dict[str, DemoRegistry], region: str
) -> None:
    registry, row, repositories = registries[region], run.registries[region], run.of(region)
    price, archive_price = (
        repositories[0]["pricePerGbMonth(USD)"],
        repositories[0]["archivePricePerGbMonth(USD)"],
    )
    reclaimable = {
        image["imageDigest"]
        for image in run.images
        if image["region"] == region and image["cleanupVerdict"] == "reclaimable"
    }
    assert reclaimable
    if MOUNTING[region] == "ENABLED":
        once = sum(distinct_blobs(registry.images).values())
        archived = min(once, sum(image.size_bytes for image in registry.images if image.status == "ARCHIVED"))
        freed = once - sum(
            distinct_blobs(image for image in registry.images if image.digest not in reclaimable).values()
        )
        freed_archived = min(
            freed,
            sum(
                image.size_bytes
                for image in registry.images
                if image.digest in reclaimable and image.status == "ARCHIVED"
            ),
        )
        expected = {
            "costBasis": "registry-unique-blobs",
            "billableSizeBytes": str(once),
            "monthlyStorageCost(USD)": usd(cost(once - archived, price) + cost(archived, archive_price)),
            "reclaimableBytes": str(freed),
            "reclaimableCost(USD)": usd(
                cost(freed - freed_archived, price) + cost(freed_archived, archive_price)
            ),
        }
    else:
        expected = {
            "costBasis": "repositories",
            "billableSizeBytes": str(
                sum(int(repository["billableSizeBytes"]) for repository in repositories)
            ),
            "monthlyStorageCost(USD)": str(
                sum(Decimal(repository["monthlyStorageCost(USD)"]) for repository in repositories)
            ),
            "reclaimableBytes": str(sum(int(repository["reclaimableBytes"]) for repository in repositories)),
            "reclaimableCost(USD)": str(
                sum(Decimal(repository["reclaimableMonthlySavings(USD)"]) for repository in repositories)
            ),
        }
    assert {column: row[column] for column in expected} == expected


def test_the_run_manifests_total_is_the_sum_of_the_csv_column(dag_run: Run) -> None:
    assert dag_run.manifest_storage is not None
    for region in MOUNTING:
        column = sum(Decimal(repository["monthlyStorageCost(USD)"]) for repository in dag_run.of(region))
        assert dag_run.manifest_storage[region] == str(column)
