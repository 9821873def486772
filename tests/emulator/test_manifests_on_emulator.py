"""The demo registry's real manifests, read through moto's BatchGetImage in the order a report must
follow (pull times first, manifests only for an excluded principal), reproduce each repository's
seeded unique-blob bytes; a second run with a fresh reader on the same S3 cache reads no manifest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from ecr_provider.aws.ecr import RegistryReader
from ecr_provider.aws.manifests import (
    ManifestReader,
    is_excluded_from_pull_time_updates,
    reporting_principal_arn,
)
from ecr_provider.core.blobs import BASIS_UNIQUE_BLOBS, ParsedManifest, parse_manifest, repository_storage
from ecr_provider.core.layout import cache_prefix
from ecr_provider.core.manifest_policy import should_read_manifests
from ecr_provider.core.records import Repository
from ecr_provider.hooks.report_lake import ReportLakeHook, S3ManifestCache
from emulator import moto_ecr_gaps
from emulator.demo_registry import DemoRegistry, seed_demo_registry
from emulator.server import ACCOUNT_ID, Emulator, client

pytestmark = pytest.mark.integration

REGION = "us-east-1"
AS_OF = datetime(2025, 6, 1, 6, 30, tzinfo=UTC)
BUCKET = "ecr-report-manifest-cache"
PREFIX = "ecr-reports"
ROLE_PATH = "/platform/reporting/"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        moto_ecr_gaps.install_pull_time_exclusions()
        client("s3", running.endpoint_url, REGION).create_bucket(Bucket=BUCKET)
        yield running


@pytest.fixture(scope="module")
def lake(emulator: Emulator) -> Iterator[ReportLakeHook]:
    """The hook the report task would use, through an Airflow connection to the emulator."""
    extra = {"endpoint_url": emulator.endpoint_url, "region_name": REGION}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_MANIFEST_CACHE", json.dumps({"conn_type": "aws", "extra": extra}))
        yield ReportLakeHook(aws_conn_id="manifest_cache")


@pytest.fixture(scope="module")
def registry(emulator: Emulator) -> DemoRegistry:
    return seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)


def reporting_role_sts(endpoint_url: str) -> Any:
    """An STS client signed as a session of a role created with a path, as Airflow's would be."""
    iam = client("iam", endpoint_url, REGION)
    role = iam.create_role(RoleName="ecr-report", Path=ROLE_PATH, AssumeRolePolicyDocument="{}")["Role"]
    credentials = client("sts", endpoint_url, REGION).assume_role(
        RoleArn=role["Arn"], RoleSessionName="airflow-worker"
    )["Credentials"]
    return boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def report_storage(endpoint_url: str, lake: ReportLakeHook) -> tuple[dict[str, int], dict[str, int], int]:
    """One report run: snapshots (DescribeImages: pull times) first, then each repository's manifests
    from a fresh reader and a fresh S3 cache object. Returns unique and image-size bytes by
    repository and the number of BatchGetImage calls."""
    ecr = client("ecr", endpoint_url, REGION)
    sent: list[tuple[str, str]] = []
    ecr.meta.events.register(
        "before-call.ecr",
        lambda model, params, **_: sent.append((model.name, params.get("repositoryName", ""))),
    )
    registry_reader = RegistryReader(ecr, max_concurrency=4)
    manifests = ManifestReader(ecr, S3ManifestCache(lake, BUCKET, PREFIX))
    unique: dict[str, int] = {}
    image_size: dict[str, int] = {}
    for snapshot in registry_reader.snapshots(registry_reader.repositories()):
        sizes = {image.digest: image.size_bytes for image in snapshot.images}
        storage = repository_storage(manifests.read(snapshot.repository, sizes), sizes)
        assert storage.basis == BASIS_UNIQUE_BLOBS
        unique[snapshot.repository.name] = storage.total_bytes
        image_size[snapshot.repository.name] = sum(sizes.values())
    assert manifests.failures == []
    for name in unique:
        calls = [operation for operation, repository in sent if repository == name]
        if "BatchGetImage" in calls:
            assert "DescribeImages" not in calls[calls.index("BatchGetImage") :], (
                f"{name}: pull times read late"
            )
    return unique, image_size, sum(operation == "BatchGetImage" for operation, _ in sent)


def test_demo_registry_storage_from_manifests_with_an_s3_cache(
    emulator: Emulator, registry: DemoRegistry, lake: ReportLakeHook
) -> None:
    endpoint = emulator.endpoint_url
    ecr = client("ecr", endpoint, REGION)
    principal = reporting_principal_arn(reporting_role_sts(endpoint), client("iam", endpoint, REGION))
    assert principal == f"arn:aws:iam::{ACCOUNT_ID}:role/platform/reporting/ecr-report"

    assert not is_excluded_from_pull_time_updates(ecr, principal)
    refused = should_read_manifests("if-excluded", False, principal_arn=principal, region=REGION)
    assert not refused.read
    assert f"register-pull-time-update-exclusion --principal-arn {principal}" in refused.reason

    ecr.register_pull_time_update_exclusion(principalArn=principal)
    excluded = is_excluded_from_pull_time_updates(ecr, principal)
    assert should_read_manifests("if-excluded", excluded, principal_arn=principal, region=REGION).read

    first_unique, first_image_size, first_calls = report_storage(endpoint, lake)
    second_unique, _, second_calls = report_storage(endpoint, lake)

    expected = {repository.name: repository.unique_blob_bytes for repository in registry.repositories}
    assert first_unique == second_unique == expected
    assert sum(first_image_size.values()) > sum(first_unique.values())
    assert first_calls == sum(bool(repository.images) for repository in registry.repositories)
    assert second_calls == 0


def test_s3_cache_merges_segments_and_keeps_every_entry(emulator: Emulator, lake: ReportLakeHook) -> None:
    s3 = client("s3", emulator.endpoint_url, REGION)
    repository = Repository(
        name="compaction/test",
        arn=f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/compaction/test",
        account_id=ACCOUNT_ID,
        region=REGION,
        uri="",
        created_at=None,
        scan_on_push=False,
        tag_mutability="MUTABLE",
        encryption_type="AES256",
    )
    prefix = cache_prefix("compaction", repository)

    def entry(number: int) -> dict[str, ParsedManifest]:
        return {f"sha256:{number:064x}": parse_manifest("{}", f"application/vnd.example.{number}+json")}

    def segments() -> list[str]:
        return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", ())]

    for number in range(5):
        cache = S3ManifestCache(lake, BUCKET, "compaction", max_segments=2)
        assert len(cache.load(repository)) == number
        cache.save(repository, entry(number))
        assert 1 <= len(segments()) <= 2

    everything = S3ManifestCache(lake, BUCKET, "compaction").load(repository)
    assert everything == {
        digest: manifest for number in range(5) for digest, manifest in entry(number).items()
    }

    s3.put_object(Bucket=BUCKET, Key=f"{prefix}corrupt.jsonl", Body=b"{not json\n")
    with pytest.raises(ValueError, match=r"corrupt\.jsonl is corrupt"):
        S3ManifestCache(lake, BUCKET, "compaction").load(repository)
