"""The demo's workloads as ECS and Lambda answer for them, against the ground truth of the plan.

The emulator is read the way the product reads it (ECS clusters, running tasks and services, Lambda
image functions), in small pages, with every answer checked against the service model; what it says
runs must be what :meth:`DemoUsage.uses` says, and that truth is itself checked against the registry's
seeded images here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator.demo_registry import DemoRegistry, seed_demo_registry
from emulator.demo_usage import ECS_SERVICE, ECS_TASK, FOREIGN_SIDECAR, LAMBDA, ZIP_FUNCTION, ImageUse
from emulator.moto_ecr_gaps import parse_image_uri
from emulator.server import Emulator, client
from tests.emulator.usage import items, valid

pytestmark = pytest.mark.integration

REGION = "us-east-1"
AS_OF = datetime(2025, 6, 1, 6, 30, tzinfo=UTC)
Uses = dict[tuple[str, str], set[ImageUse]]


@pytest.fixture(scope="module")
def registry(emulator: Emulator) -> DemoRegistry:
    return seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)


@pytest.fixture(scope="module")
def ecs(emulator: Emulator, registry: DemoRegistry) -> Any:
    return client("ecs", emulator.endpoint_url, REGION)


def repository_of(image: str) -> str:
    reference = parse_image_uri(image)
    assert reference is not None, image
    return reference.repository_name


def running_tasks(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    page = {"PageSize": 2}
    arns = items(
        ecs,
        "list_tasks",
        "ListTasks",
        "taskArns",
        cluster=cluster,
        desiredStatus="RUNNING",
        PaginationConfig=page,
    )
    return described(ecs, cluster, "tasks", arns, 100)


def described(ecs: Any, cluster: str, member: str, arns: list[str], largest: int) -> list[dict[str, Any]]:
    """DescribeTasks or DescribeServices of every ARN, as many a call as ECS takes."""
    operation, describe = f"Describe{member.title()}", getattr(ecs, f"describe_{member}")
    return [
        found
        for start in range(0, len(arns), largest)
        for found in valid(
            ecs, operation, describe(cluster=cluster, **{member: arns[start : start + largest]})
        )[member]
    ]


def services(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    arns = items(
        ecs, "list_services", "ListServices", "serviceArns", cluster=cluster, PaginationConfig={"PageSize": 1}
    )
    return described(ecs, cluster, "services", arns, 10)


def ecs_uses(ecs: Any, ecr: Any) -> Uses:
    """What runs, by the running tasks' digests; a service none of whose tasks runs counts by the tags
    its task definition names."""
    found: defaultdict[tuple[str, str], set[ImageUse]] = defaultdict(set)
    clusters = items(ecs, "list_clusters", "ListClusters", "clusterArns", PaginationConfig={"PageSize": 1})
    for cluster_arn in clusters:
        cluster = cluster_arn.rsplit("/", 1)[1]
        running: defaultdict[tuple[str, str, str, str, str], int] = defaultdict(int)
        for task in running_tasks(ecs, cluster_arn):
            kind, name = task["group"].split(":", 1)
            for container in task["containers"]:
                if "imageDigest" in container:
                    key = (
                        repository_of(container["image"]),
                        container["imageDigest"],
                        kind,
                        name,
                        container["image"],
                    )
                    running[key] += 1
        for (repository, digest, kind, name, image), count in running.items():
            use = ImageUse(ECS_SERVICE if kind == "service" else ECS_TASK, cluster, name, image, count)
            found[repository, digest].add(use)
        for service in services(ecs, cluster_arn):
            if service["runningCount"]:
                continue
            definition = valid(
                ecs,
                "DescribeTaskDefinition",
                ecs.describe_task_definition(taskDefinition=service["taskDefinition"]),
            )
            for container in definition["taskDefinition"]["containerDefinitions"]:
                reference = parse_image_uri(container["image"])
                assert reference is not None
                assert reference.tag
                image = ecr.describe_images(
                    repositoryName=reference.repository_name, imageIds=[{"imageTag": reference.tag}]
                )
                digest = image["imageDetails"][0]["imageDigest"]
                found[reference.repository_name, digest].add(
                    ImageUse(ECS_SERVICE, cluster, service["serviceName"], container["image"], 0)
                )
    return dict(found)


def lambda_uses(functions: Any) -> tuple[Uses, list[str]]:
    """What image functions run (by their resolved digest), and every function's package type."""
    found: defaultdict[tuple[str, str], set[ImageUse]] = defaultdict(set)
    listed = items(
        functions, "list_functions", "ListFunctions", "Functions", PaginationConfig={"PageSize": 1}
    )
    for function in listed:
        if function["PackageType"] != "Image":
            continue
        answer = valid(functions, "GetFunction", functions.get_function(FunctionName=function["FunctionArn"]))
        configured, resolved = (
            parse_image_uri(answer["Code"][name]) for name in ("ImageUri", "ResolvedImageUri")
        )
        assert configured is not None
        assert resolved is not None
        assert resolved.repository_uri == configured.repository_uri
        assert answer["Configuration"]["CodeSha256"] == resolved.digest.removeprefix("sha256:")
        use = ImageUse(LAMBDA, "", function["FunctionName"], answer["Code"]["ImageUri"], 0)
        found[resolved.repository_name, resolved.digest].add(use)
    return dict(found), [f"{function['FunctionName']}:{function['PackageType']}" for function in listed]


def truth(registry: DemoRegistry) -> Uses:
    return {key: set(uses) for key, uses in registry.usage.uses().items()}


def test_ecs_and_lambda_answer_exactly_the_ground_truth(
    emulator: Emulator, registry: DemoRegistry, ecs: Any
) -> None:
    ecr = client("ecr", emulator.endpoint_url, REGION)
    from_lambda, package_types = lambda_uses(client("lambda", emulator.endpoint_url, REGION))

    assert {**ecs_uses(ecs, ecr), **from_lambda} == truth(registry)
    assert sorted(package_types) == sorted(
        [f"{ZIP_FUNCTION}:Zip", *(f"{function.name}:Image" for function in registry.usage.functions)]
    )


def test_the_ground_truth_names_the_registry_images_by_their_tags_and_digests(registry: DemoRegistry) -> None:
    images = {(image.repository_name, image.digest): image for image in registry.images}
    for (repository, digest), uses in truth(registry).items():
        image = images[repository, digest]
        assert not image.child_digests, "a task runs an image, never an index"
        for use in uses:
            reference = parse_image_uri(use.image)
            assert reference is not None
            assert reference.repository_name == repository
            assert reference.digest == digest if reference.digest else reference.tag in image.tags


def test_the_demo_has_every_case_pull_time_alone_gets_wrong(registry: DemoRegistry, ecs: Any) -> None:
    uses = [(key, use) for key, found in truth(registry).items() for use in found]
    images = {(image.repository_name, image.digest): image for image in registry.images}
    running_services = [use for _, use in uses if use.kind == ECS_SERVICE and use.running_tasks]

    assert len({use.cluster for use in running_services}) == 2
    assert any(":" in use.image.rsplit("/", 1)[1] and "@" not in use.image for use in running_services)
    assert any("@sha256:" in use.image for use in running_services)
    assert [use.kind for _, use in uses].count(ECS_TASK) == 1
    assert [use.kind for _, use in uses].count(LAMBDA) == 1
    short = [use for _, use in uses if use.kind == ECS_SERVICE and not use.running_tasks]
    assert len(short) == 1
    assert "@" not in short[0].image
    short_service = next(
        service
        for cluster in ("prod", "batch")
        for service in services(ecs, cluster)
        if service["serviceName"] == short[0].name
    )
    assert (short_service["desiredCount"], short_service["runningCount"]) == (1, 0)
    indexes = [image for image in registry.images if image.child_digests]
    children_running = [key for key, _ in uses if any(key[1] in index.child_digests for index in indexes)]
    assert children_running
    assert not {index.digest for index in indexes} & {digest for _, digest in truth(registry)}
    year_ago = registry.as_of - timedelta(days=365)
    stale_but_running = [
        images[key]
        for key, use in uses
        if use.running_tasks and (images[key].last_pull or year_ago) < year_ago
    ]
    assert stale_but_running
    assert any(
        container.image == FOREIGN_SIDECAR
        for workload in registry.usage.workloads
        for container in workload.containers
    )


def test_the_demo_can_be_seeded_in_a_second_region_with_its_own_workloads(
    emulator: Emulator, registry: DemoRegistry
) -> None:
    other = seed_demo_registry(emulator.endpoint_url, "eu-west-1", AS_OF)
    functions = client("lambda", emulator.endpoint_url, "eu-west-1")
    from_lambda, _ = lambda_uses(functions)

    lambdas = {key: {use for use in uses if use.kind == LAMBDA} for key, uses in truth(other).items()}
    assert from_lambda == {key: uses for key, uses in lambdas.items() if uses}
    assert all(use.image.split(".")[3] == "eu-west-1" for uses in truth(other).values() for use in uses)
    assert truth(other).keys() == truth(registry).keys()
