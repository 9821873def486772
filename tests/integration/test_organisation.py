"""Many registries in one run: accounts x regions by dynamic task mapping, and Organizations discovery."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from ecr_provider.core.csv_format import read_canonical
from emulator.destination import ReportDestination
from emulator.server import ACCOUNT_ID, Emulator, client
from emulator.synthetic_registry import seed_synthetic_registry
from tests.integration.conftest import REGION, RunDag, visible_generation

pytestmark = pytest.mark.integration

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("eu-west-1", "us-east-1")
AS_OF = datetime(2026, 11, 18, tzinfo=UTC)
IMAGES = {("111111111111", "eu-west-1"): 12, ("111111111111", "us-east-1"): 8}
IMAGES.update({("222222222222", "eu-west-1"): 6, ("222222222222", "us-east-1"): 10})


def rows(emulator: Emulator, bucket: str, key: str) -> list[dict[str, str]]:
    body = client("s3", emulator.endpoint_url, REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    return list(read_canonical(io.StringIO(body.decode(), newline="")))


def keys(emulator: Emulator, bucket: str, prefix: str) -> list[str]:
    listed = client("s3", emulator.endpoint_url, REGION).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_two_accounts_by_two_regions_write_four_parts_and_one_partition(
    run_dag: RunDag, emulator: Emulator, destination: ReportDestination
) -> None:
    for (account, region), images in IMAGES.items():
        seed_synthetic_registry(account, region, repositories=3, images=images, as_of=AS_OF)
    run_dag(
        {
            "regions": list(REGIONS),
            "accounts": [ACCOUNTS[0], f"arn:aws:iam::{ACCOUNTS[1]}:role/ecr-report"],
            "role_name": "ecr-report",
            "report_bucket": destination.bucket,
            "report_prefix": "org-reports",
            "athena_database": "org_reports",
            "storage_threshold_gb": 100_000,
        },
        "2026-11-18",
    )
    for report in ("repositories_summary", "images_summary"):
        generation = visible_generation(emulator, destination.bucket, "org-reports", "2026-11-18")
        prefix = f"org-reports/{report}/report_date=2026-11-18/generation={generation}/"
        expected = [f"{prefix}{account}-{region}.csv" for account in ACCOUNTS for region in REGIONS]
        assert keys(emulator, destination.bucket, prefix) == expected
        for (account, region), images in IMAGES.items():
            part = rows(emulator, destination.bucket, f"{prefix}{account}-{region}.csv")
            assert {(row["accountId"], row["region"]) for row in part} == {(account, region)}
            assert len(part) == (3 if report == "repositories_summary" else images)
        partitions = client("glue", emulator.endpoint_url, REGION).get_partitions(
            DatabaseName="org_reports", TableName=report
        )["Partitions"]
        assert [p["Values"] for p in partitions] == [["2026-11-18"]]


def test_discovered_organisation_accounts_are_reported(
    run_dag: RunDag, emulator: Emulator, destination: ReportDestination
) -> None:
    organizations = client("organizations", emulator.endpoint_url, REGION)
    organizations.create_organization(FeatureSet="ALL")
    member = organizations.create_account(AccountName="payments", Email="payments@example.com")
    member_id = member["CreateAccountStatus"]["AccountId"]
    seed_synthetic_registry(member_id, "eu-west-1", repositories=2, images=5, as_of=AS_OF)
    run_dag(
        {
            "regions": ["eu-west-1"],
            "discover_accounts": True,
            "role_name": "ecr-report",
            "report_bucket": destination.bucket,
            "report_prefix": "discovered",
            "athena_database": "discovered_reports",
            "storage_threshold_gb": 100_000,
        },
        "2026-11-17",
    )
    generation = visible_generation(emulator, destination.bucket, "discovered", "2026-11-17")
    prefix = f"discovered/images_summary/report_date=2026-11-17/generation={generation}/"
    assert keys(emulator, destination.bucket, prefix) == sorted(
        f"{prefix}{account}-eu-west-1.csv" for account in (ACCOUNT_ID, member_id)
    )
    assert len(rows(emulator, destination.bucket, f"{prefix}{member_id}-eu-west-1.csv")) == 5
    assert rows(emulator, destination.bucket, f"{prefix}{ACCOUNT_ID}-eu-west-1.csv") == []


ORGANISATION = tuple(f"{number:012d}" for number in range(300000000001, 300000000013))
"""Twelve accounts in two regions: 24 registries, more than the map limit the test sets."""
MAP_LIMIT = 4


def test_an_organisation_larger_than_the_map_limit_is_reported_whole(
    dag_runner: RunDag, emulator: Emulator, destination: ReportDestination
) -> None:
    images = {
        (account, region): (number % 3) * 4
        for number, account in enumerate(ORGANISATION)
        for region in REGIONS
    }
    for (account, region), count in images.items():
        if count:
            seed_synthetic_registry(account, region, repositories=2, images=count, as_of=AS_OF)
    listed_twice = f"arn:aws:iam::{ORGANISATION[0]}:role/another-name"
    result = dag_runner(
        {
            "regions": list(REGIONS),
            "accounts": [*ORGANISATION, listed_twice],
            "role_name": "ecr-report",
            "report_bucket": destination.bucket,
            "report_prefix": "large-org",
            "athena_database": "large_org",
            "storage_threshold_gb": 100_000,
            "batch_size": 2,
        },
        "2026-11-16",
        {"AIRFLOW__CORE__MAX_MAP_LENGTH": str(MAP_LIMIT)},
    )

    assert result.state == "success", result.tail()
    mapped = [task for task in result.task_states if task.startswith("registry_report[")]
    assert 1 < len(mapped) <= MAP_LIMIT
    for report, per_registry in (("repositories_summary", 2), ("images_summary", None)):
        generation = visible_generation(emulator, destination.bucket, "large-org", "2026-11-16")
        prefix = f"large-org/{report}/report_date=2026-11-16/generation={generation}/"
        assert keys(emulator, destination.bucket, prefix) == sorted(
            f"{prefix}{account}-{region}.csv" for account, region in images
        )
        for (account, region), count in images.items():
            part = rows(emulator, destination.bucket, f"{prefix}{account}-{region}.csv")
            assert len(part) == (per_registry if per_registry and count else count if not per_registry else 0)
    manifest = json.loads(
        client("s3", emulator.endpoint_url, REGION)
        .get_object(Bucket=destination.bucket, Key="large-org/_runs/report_date=2026-11-16/manifest.json")[
            "Body"
        ]
        .read()
    )
    assert manifest["complete"] is True
    assert manifest["totals"]["targets"] == manifest["totals"]["loaded"] == len(images)
    assert manifest["totals"]["images"] == sum(images.values())
    assert {(target["account_id"], target["region"]) for target in manifest["targets"]} == set(images)
    assert set(manifest["prices"]) == set(REGIONS)
