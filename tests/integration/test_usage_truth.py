"""Usage truth end to end: every new column of a DAG run against ground truth from the seeded data.

The demo registry is seeded in a region of its own, under enhanced scanning with Inspector counting
EKS pods for some images, and with the reporting principal excluded from pull-time updates (so its
index manifests are read). What runs comes from the demo's workload plan (``DemoUsage.uses``), the
verdicts from the rules as docs/reports.md states them, the bytes from the seeded blobs: none of it is
read back through the code under test.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase

import pytest

from ecr_provider.aws.manifests import reporting_principal_arn
from ecr_provider.core.csv_format import read_canonical
from emulator.demo_registry import DemoRegistry, SeededRepository, seed_demo_registry
from emulator.demo_usage import ECS_SERVICE, ECS_TASK, LAMBDA
from emulator.destination import ReportDestination
from emulator.moto_inspector_gaps import CoveredImage, fill_coverage
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.integration.conftest import AS_OF, REPORT_DATE, RunDag, visible_generation

pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
"""No other test uses it: the exclusion and the scanning mode stay this registry's."""
PREFIX = "usage-truth"
RECLAIM_AFTER_DAYS = 90
CUTOFF = AS_OF - timedelta(days=RECLAIM_AFTER_DAYS)
EKS_PODS = 3
EKS_LAST_RUN = AS_OF - timedelta(hours=6)
GB = Decimal(2**30)


@dataclass(frozen=True)
class Truth:
    in_use: bool
    count: int
    places: tuple[str, ...]
    last_in_use_at: datetime | None


@dataclass(frozen=True)
class World:
    registry: DemoRegistry
    protected_pattern: str
    eks: Mapping[tuple[str, str], int]
    images: dict[tuple[str, str], dict[str, str]]
    repositories: dict[str, dict[str, str]]


def read_report(emulator: Emulator, bucket: str, report: str) -> list[dict[str, str]]:
    generation = visible_generation(emulator, bucket, PREFIX)
    key = f"{PREFIX}/{report}/report_date={REPORT_DATE}/generation={generation}/{ACCOUNT_ID}-{REGION}.csv"
    body = client("s3", emulator.endpoint_url, REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    return list(read_canonical(io.StringIO(body.decode("utf-8"), newline="")))


def eks_picks(registry: DemoRegistry) -> dict[tuple[str, str], int]:
    """Inspector's count for two images: one nothing in the account runs (an EKS deployment), and
    one an ECS service runs, with pods beyond its tasks."""
    uses = registry.usage.uses()
    children = {child for image in registry.images for child in image.child_digests}
    unused = next(
        image
        for image in registry.images
        if image.tags
        and (image.repository_name, image.digest) not in uses
        and image.status == "ACTIVE"
        and image.digest not in children
        and not image.child_digests
    )
    ecs_key, ecs_uses = next(
        (key, found) for key, found in sorted(uses.items()) if any(use.kind == ECS_SERVICE for use in found)
    )
    ecs_tasks = sum(use.running_tasks for use in ecs_uses if use.kind != LAMBDA)
    return {(unused.repository_name, unused.digest): EKS_PODS, ecs_key: ecs_tasks + EKS_PODS}


def protected_pattern(registry: DemoRegistry) -> str:
    """A glob matching the tag of an old image nothing runs, so the reason is exercised."""
    uses = registry.usage.uses()
    image = next(
        image
        for repository in sorted(registry.repositories, key=lambda repository: repository.name)
        for image in repository.images
        if image.tags
        and (image.repository_name, image.digest) not in uses
        and (image.last_pull is None or image.last_pull < CUTOFF)
        and image.pushed_at < CUTOFF
    )
    return image.tags[0][:-1] + "*"


@pytest.fixture(scope="module")
def world(emulator: Emulator, destination: ReportDestination, run_dag: RunDag) -> World:
    registry = seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)
    ecr = client("ecr", emulator.endpoint_url, REGION)
    ecr.register_pull_time_update_exclusion(
        principalArn=reporting_principal_arn(client("sts", emulator.endpoint_url, REGION))
    )
    ecr.put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {
                "scanFrequency": "CONTINUOUS_SCAN",
                "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}],
            }
        ],
    )
    eks = eks_picks(registry)
    fill_coverage(
        ACCOUNT_ID,
        REGION,
        (
            CoveredImage(
                image.repository_name,
                image.digest,
                image.tags,
                last_scanned_at=AS_OF - timedelta(days=1),
                in_use_count=eks.get((image.repository_name, image.digest), 0),
                last_in_use_at=EKS_LAST_RUN if (image.repository_name, image.digest) in eks else None,
            )
            for image in registry.images
        ),
    )
    pattern = protected_pattern(registry)
    run_dag(
        {
            "regions": [REGION],
            "report_bucket": destination.bucket,
            "report_prefix": PREFIX,
            "reclaim_after_days": RECLAIM_AFTER_DAYS,
            "protected_tag_patterns": [pattern],
        }
    )
    images = read_report(emulator, destination.bucket, "images_summary")
    repositories = read_report(emulator, destination.bucket, "repositories_summary")
    return World(
        registry,
        pattern,
        eks,
        {(row["repositoryName"], row["imageDigest"]): row for row in images},
        {row["repositoryName"]: row for row in repositories},
    )


def place_of(kind: str, cluster: str, name: str) -> str:
    if kind == ECS_SERVICE:
        return f"ecs:{cluster}/{name}"
    if kind == ECS_TASK:
        return f"ecs:{cluster}/family:{name}"
    return f"lambda:{name}"


def truth(world: World) -> dict[tuple[str, str], Truth]:
    """Own use from the workload plan and Inspector's seeded count; an index is used through its children."""
    uses = world.registry.usage.uses()
    own: dict[tuple[str, str], tuple[dict[str, int], int, int]] = {}
    for image in world.registry.images:
        key = (image.repository_name, image.digest)
        places: dict[str, int] = {}
        functions = 0
        for use in uses.get(key, ()):
            places[place_of(use.kind, use.cluster, use.name)] = use.running_tasks
            functions += use.kind == LAMBDA
        own[key] = places, world.eks.get(key, 0), functions
    found = {}
    for image in world.registry.images:
        key = (image.repository_name, image.digest)
        related = [key, *((image.repository_name, child) for child in image.child_digests)]
        places = {}
        for each in related:
            for place, tasks in own[each][0].items():
                places[place] = places.get(place, 0) + tasks
        pods = sum(own[each][1] for each in related)
        functions = sum(own[each][2] for each in related)
        tasks = sum(count for place, count in places.items() if place.startswith("ecs:"))
        named = sorted(places) + (["EKS (Inspector)"] if pods > tasks else [])
        found[key] = Truth(
            bool(named), max(pods, tasks) + functions, tuple(named), EKS_LAST_RUN if pods else None
        )
    return found


def expected_reasons(world: World, repository: SeededRepository) -> dict[str, str]:
    """docs/reports.md's order; a lifecycle expiry is told apart from "unused" by the report itself."""
    used = truth(world)
    own: dict[str, str | None] = {}
    for image in repository.images:
        if used[(repository.name, image.digest)].in_use:
            own[image.digest] = "in-use"
        elif any(fnmatchcase(tag, world.protected_pattern) for tag in image.tags):
            own[image.digest] = "protected-tag"
        elif image.last_pull is not None and image.last_pull >= CUTOFF:
            own[image.digest] = "recently-pulled"
        elif (image.last_activated_at or image.pushed_at) >= CUTOFF:
            own[image.digest] = "recently-pushed"
        else:
            own[image.digest] = None
    needed: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for image in repository.images:
            kept = own[image.digest] is not None or image.digest in needed
            dependants = [(child, "child-of-kept-index") for child in image.child_digests]
            dependants += [
                (other.digest, "referrer-of-kept-image")
                for other in repository.images
                if other.subject_manifest_digest == image.digest
            ]
            for digest, reason in dependants:
                if kept and digest not in needed and own.get(digest) not in ("in-use", "protected-tag"):
                    needed[digest] = reason
                    changed = True
    reasons: dict[str, str] = {}
    for image in repository.images:
        decided = own[image.digest]
        if decided not in ("in-use", "protected-tag"):
            decided = needed.get(image.digest, decided)
        reasons[image.digest] = decided or ("archived" if image.status == "ARCHIVED" else "unused")
    return reasons


def test_every_images_use_is_what_runs_it(world: World) -> None:
    expected = truth(world)
    assert set(world.images) == set(expected)
    for key, row in world.images.items():
        want = expected[key]
        assert row["inUse"] == ("true" if want.in_use else "false"), key
        assert row["inUseCount"] == str(want.count), key
        assert json.loads(row["inUseBy"]) == list(want.places), key
        assert row["lastInUseAt"] == (
            "" if want.last_in_use_at is None else f"{want.last_in_use_at:%Y-%m-%d %H:%M:%S}"
        )
    # The fixture covers every case the issue names.
    places = {place for want in expected.values() for place in want.places}
    assert {"EKS (Inspector)"} < places
    assert any(place.startswith("lambda:") for place in places)
    assert any("/family:" in place for place in places)
    indexes = [image for image in world.registry.images if image.child_digests]
    assert any(expected[(index.repository_name, index.digest)].in_use for index in indexes)


def test_every_verdict_follows_the_rules(world: World) -> None:
    seen = set()
    for repository in world.registry.repositories:
        for digest, reason in expected_reasons(world, repository).items():
            row = world.images[(repository.name, digest)]
            if reason == "unused" and repository.lifecycle_policy:
                assert row["cleanupReason"] in ("unused", "lifecycle-expiring"), (repository.name, digest)
            else:
                assert row["cleanupReason"] == reason, (repository.name, digest, row["imageTags"])
            assert row["cleanupVerdict"] == (
                "reclaimable"
                if row["cleanupReason"] in ("unused", "lifecycle-expiring", "archived")
                else "keep"
            )
            seen.add(row["cleanupReason"])
    assert seen >= {
        "in-use",
        "protected-tag",
        "child-of-kept-index",
        "referrer-of-kept-image",
        "recently-pulled",
        "archived",
        "unused",
    }


def usd(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.0001"), ROUND_HALF_UP))


def test_each_repositorys_reclaimable_bytes_are_the_blobs_no_kept_image_references(world: World) -> None:
    used = truth(world)
    reclaimable_somewhere = 0
    for repository in world.registry.repositories:
        row = world.repositories[repository.name]
        verdicts = {
            digest: world.images[(repository.name, digest)]["cleanupVerdict"]
            for digest in (image.digest for image in repository.images)
        }
        gone = [image for image in repository.images if verdicts[image.digest] == "reclaimable"]
        kept = [image for image in repository.images if verdicts[image.digest] == "keep"]
        blobs = {blob.digest: blob.size_bytes for image in repository.images for blob in image.blobs}
        kept_blobs = {blob.digest for image in kept for blob in image.blobs}
        freed = sum(size for digest, size in blobs.items() if digest not in kept_blobs)
        archived = min(freed, sum(image.size_bytes for image in gone if image.status == "ARCHIVED"))
        cost = (
            Decimal(freed - archived) * Decimal(row["pricePerGbMonth(USD)"])
            + Decimal(archived) * Decimal(row["archivePricePerGbMonth(USD)"])
        ) / GB
        in_use = [image for image in repository.images if used[(repository.name, image.digest)].in_use]
        assert row["reclaimableImages"] == str(len(gone)), repository.name
        assert row["reclaimableBytes"] == str(freed), repository.name
        assert row["reclaimableMonthlySavings(USD)"] == usd(cost), repository.name
        assert row["inUseImages"] == str(len(in_use)), repository.name
        assert row["inUseNotRecentlyPulledImages"] == str(
            sum(1 for image in in_use if image.last_pull is None or image.last_pull < CUTOFF)
        ), repository.name
        assert row["reclaimAfterDays"] == str(RECLAIM_AFTER_DAYS)
        reclaimable_somewhere += freed
    assert reclaimable_somewhere > 0
    stale_but_used = sum(int(row["inUseNotRecentlyPulledImages"]) for row in world.repositories.values())
    assert stale_but_used >= 2  # the demo's year-old services


def test_denied_ecs_makes_use_unknown_and_nothing_reclaimable(
    world: World, emulator: Emulator, destination: ReportDestination, run_dag: RunDag
) -> None:
    emulator.inject_faults({"ecs:ListClusters": ["denied"]})
    try:
        result = run_dag(
            {"regions": [REGION], "report_bucket": destination.bucket, "report_prefix": f"{PREFIX}-denied"}
        )
    finally:
        emulator.inject_faults({})
    generation = visible_generation(emulator, destination.bucket, f"{PREFIX}-denied")
    partition = f"{PREFIX}-denied/images_summary/report_date={REPORT_DATE}/generation={generation}/"
    key = f"{partition}{ACCOUNT_ID}-{REGION}.csv"
    body = client("s3", emulator.endpoint_url, REGION).get_object(Bucket=destination.bucket, Key=key)["Body"]
    rows = list(read_canonical(io.StringIO(body.read().decode("utf-8"), newline="")))
    assert "ecs:ListClusters failed with AccessDeniedException" in result.output
    assert result.output.count("which images ECS runs is unknown") == 1
    assert {row["cleanupVerdict"] for row in rows} == {"keep"}
    lambda_only = {row["inUse"] for row in rows if "lambda:" in row["inUseBy"]}
    assert lambda_only == {"true"}  # Lambda was still read, and Inspector still counts pods
    unknown = [row for row in rows if row["inUse"] == ""]
    assert unknown
    assert {row["inUseBy"] for row in unknown} == {""}
    assert "usage-unknown" in {row["cleanupReason"] for row in unknown}
