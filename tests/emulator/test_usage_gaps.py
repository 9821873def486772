"""What the gap modules add to moto for "which images run": ECS, Lambda and Inspector as AWS answers.

A small registry made here, so each behaviour is seen on its own; every answer is checked against the
service model (see ``usage.valid``), and expected digests come from the images pushed here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecr_provider.aws.inspector import EnhancedScan, registry_image_scans
from ecr_provider.core.records import InspectorUse
from emulator.moto_inspector_gaps import CoveredImage, fill_coverage
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.emulator.usage import items, pages, valid

pytestmark = pytest.mark.integration

REGION = "eu-west-1"
REPOSITORY = "shop/web"
URI = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"
FOREIGN = "public.ecr.aws/docker/library/busybox:1.36"
SCANNED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def manifest(number: int) -> str:
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{number:064x}"}
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {**config, "size": 7},
            "layers": [],
        }
    )


@pytest.fixture(scope="module")
def ecr(emulator: Emulator) -> Any:
    ecr = client("ecr", emulator.endpoint_url, REGION)
    ecr.create_repository(repositoryName=REPOSITORY)
    return ecr


def push(ecr: Any, number: int, tag: str) -> str:
    """Push image ``number`` with ``tag`` (moving the tag if another image has it); its digest."""
    body = manifest(number)
    digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=body, imageTag=tag, imageDigest=digest)
    return digest


@pytest.fixture(scope="module")
def ecs(emulator: Emulator) -> Any:
    return client("ecs", emulator.endpoint_url, REGION)


@pytest.fixture(scope="module")
def network(emulator: Emulator) -> dict[str, Any]:
    ec2 = client("ec2", emulator.endpoint_url, REGION)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}


def task_definition(ecs: Any, family: str, *images: str) -> str:
    response = ecs.register_task_definition(
        family=family,
        containerDefinitions=[
            {"name": f"c{number}", "image": image, "memory": 128} for number, image in enumerate(images)
        ],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
    )
    return str(response["taskDefinition"]["taskDefinitionArn"])


def described(ecs: Any, cluster: str, arns: list[str]) -> list[dict[str, Any]]:
    return list(valid(ecs, "DescribeTasks", ecs.describe_tasks(cluster=cluster, tasks=arns))["tasks"])


def running_arns(ecs: Any, cluster: str) -> list[str]:
    return items(ecs, "list_tasks", "ListTasks", "taskArns", cluster=cluster, desiredStatus="RUNNING")


def test_a_task_runs_every_container_with_the_digest_it_pulled_even_after_its_tag_moved(
    ecr: Any, ecs: Any, network: dict[str, Any]
) -> None:
    first = push(ecr, 1, "v1")
    sidecar = push(ecr, 2, "sidecar")
    cluster = ecs.create_cluster(clusterName="tasks")["cluster"]["clusterArn"]
    definition = task_definition(ecs, "web", f"{URI}:v1", f"{URI}@{sidecar}", FOREIGN)
    started = ecs.run_task(
        cluster=cluster, taskDefinition=definition, launchType="FARGATE", networkConfiguration=network
    )
    task_arn = started["tasks"][0]["taskArn"]
    moved = push(ecr, 3, "v1")

    once, twice = (described(ecs, cluster, [task_arn])[0] for _ in range(2))
    restarted = ecs.run_task(
        cluster=cluster, taskDefinition=definition, launchType="FARGATE", networkConfiguration=network
    )

    assert once == twice
    assert (once["lastStatus"], once["group"], once["taskDefinitionArn"]) == (
        "RUNNING",
        "family:web",
        definition,
    )
    containers = {container["name"]: container for container in once["containers"]}
    assert {name: container.get("imageDigest") for name, container in containers.items()} == {
        "c0": first,
        "c1": sidecar,
        "c2": None,
    }
    assert [container["image"] for container in once["containers"]] == [
        f"{URI}:v1",
        f"{URI}@{sidecar}",
        FOREIGN,
    ]
    assert {container["taskArn"] for container in once["containers"]} == {task_arn}
    assert {container["lastStatus"] for container in once["containers"]} == {"RUNNING"}
    assert restarted["tasks"][0]["containers"][0]["imageDigest"] == moved != first


def test_a_service_runs_its_desired_tasks_and_counts_only_those_still_running(
    ecr: Any, ecs: Any, network: dict[str, Any]
) -> None:
    digest = push(ecr, 4, "service")
    cluster = ecs.create_cluster(clusterName="services")["cluster"]["clusterArn"]
    definition = task_definition(ecs, "api", f"{URI}:service")
    created = ecs.create_service(
        cluster=cluster,
        serviceName="api",
        taskDefinition=definition,
        desiredCount=3,
        launchType="FARGATE",
        networkConfiguration=network,
    )
    tasks = described(ecs, cluster, running_arns(ecs, cluster))
    ecs.stop_task(cluster=cluster, task=tasks[0]["taskArn"], reason="Essential container in task exited")

    service = valid(ecs, "DescribeServices", ecs.describe_services(cluster=cluster, services=["api"]))[
        "services"
    ][0]

    assert created["service"]["runningCount"] == 3
    assert [(task["group"], task["containers"][0]["imageDigest"]) for task in tasks] == [
        ("service:api", digest)
    ] * 3
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (3, 2, 0)
    assert [(each["taskDefinition"], each["runningCount"]) for each in service["deployments"]] == [
        (definition, 2)
    ]
    assert len(running_arns(ecs, cluster)) == 2
    described_definition = valid(
        ecs, "DescribeTaskDefinition", ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    )
    assert [each["image"] for each in described_definition["taskDefinition"]["containerDefinitions"]] == [
        f"{URI}:service"
    ]


def test_ecs_lists_come_in_pages_of_the_size_ecs_uses(ecs: Any, network: dict[str, Any]) -> None:
    cluster = ecs.create_cluster(clusterName="paged")["cluster"]["clusterArn"]
    definition = task_definition(ecs, "idle", f"{URI}:v1")
    for number in range(12):
        ecs.create_service(
            cluster=cluster, serviceName=f"svc-{number:02d}", taskDefinition=definition, desiredCount=0
        )
    ecs.run_task(
        cluster=cluster,
        taskDefinition=definition,
        count=5,
        launchType="FARGATE",
        networkConfiguration=network,
    )

    services = list(pages(ecs, "list_services", "ListServices", cluster=cluster))
    tasks = list(pages(ecs, "list_tasks", "ListTasks", cluster=cluster, PaginationConfig={"PageSize": 2}))
    clusters = list(pages(ecs, "list_clusters", "ListClusters", PaginationConfig={"PageSize": 1}))

    assert [len(page["serviceArns"]) for page in services] == [10, 2]
    assert sorted(arn for page in services for arn in page["serviceArns"]) == [
        f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:service/paged/svc-{number:02d}" for number in range(12)
    ]
    assert [len(page["taskArns"]) for page in tasks] == [2, 2, 1]
    assert len({arn for page in tasks for arn in page["taskArns"]}) == 5
    assert len(clusters) == len({arn for page in clusters for arn in page["clusterArns"]}) >= 3


@pytest.mark.parametrize(
    ("method", "arguments"),
    [
        ("describe_services", {"cluster": "paged", "services": [f"svc-{number}" for number in range(11)]}),
        ("describe_tasks", {"cluster": "paged", "tasks": [f"task-{number}" for number in range(101)]}),
        ("list_tasks", {"cluster": "paged", "maxResults": 101}),
    ],
)
def test_ecs_refuses_more_than_it_takes_at_once(ecs: Any, method: str, arguments: dict[str, Any]) -> None:
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        getattr(ecs, method)(**arguments)


@pytest.fixture(scope="module")
def functions(emulator: Emulator) -> Any:
    return client("lambda", emulator.endpoint_url, REGION)


@pytest.fixture(scope="module")
def role(emulator: Emulator) -> str:
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    }
    iam = client("iam", emulator.endpoint_url, REGION)
    return str(iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def test_a_function_runs_the_digest_resolved_when_its_code_was_set(
    ecr: Any, functions: Any, role: str
) -> None:
    released = push(ecr, 5, "release")
    function = functions.create_function(
        FunctionName="resize", Role=role, PackageType="Image", Code={"ImageUri": f"{URI}:release"}
    )
    moved = push(ecr, 6, "release")
    before_update = valid(
        functions, "GetFunction", functions.get_function(FunctionName=function["FunctionArn"])
    )
    functions.update_function_code(FunctionName="resize", ImageUri=f"{URI}:release")
    after_update = valid(functions, "GetFunction", functions.get_function(FunctionName="resize"))

    assert function["CodeSha256"] == released.removeprefix("sha256:")
    assert before_update["Code"] == {
        "RepositoryType": "ECR",
        "ImageUri": f"{URI}:release",
        "ResolvedImageUri": f"{URI}@{released}",
    }
    assert after_update["Code"]["ResolvedImageUri"] == f"{URI}@{moved}"
    assert after_update["Configuration"]["CodeSha256"] == moved.removeprefix("sha256:")


def test_a_function_of_an_image_that_does_not_exist_is_refused(functions: Any, role: str) -> None:
    with pytest.raises(functions.exceptions.InvalidParameterValueException, match="does not exist"):
        functions.create_function(
            FunctionName="ghost", Role=role, PackageType="Image", Code={"ImageUri": f"{URI}:nope"}
        )


def test_functions_come_in_pages(ecr: Any, functions: Any, role: str) -> None:
    digest = push(ecr, 7, "paged")
    for number in range(3):
        functions.create_function(
            FunctionName=f"paged-{number}",
            Role=role,
            PackageType="Image",
            Code={"ImageUri": f"{URI}@{digest}"},
        )

    listed = list(pages(functions, "list_functions", "ListFunctions", PaginationConfig={"PageSize": 2}))

    names = [function["FunctionName"] for page in listed for function in page["Functions"]]
    assert [len(page["Functions"]) for page in listed][:-1] == [2] * (len(listed) - 1)
    assert {"paged-0", "paged-1", "paged-2"} <= set(names)
    assert len(names) == len(set(names))
    by_digest = valid(functions, "GetFunction", functions.get_function(FunctionName="paged-1"))["Code"]
    assert by_digest["ResolvedImageUri"] == f"{URI}@{digest}"


COVERED = 250
WITH_FINDINGS = 150


def covered_image(number: int) -> CoveredImage:
    """Image ``number`` of the coverage: the first WITH_FINDINGS have findings, every third runs."""
    critical = {"CRITICAL": number % 3} if number % 3 else {}
    counts = {**critical, "HIGH": 2, "UNTRIAGED": 1} if number < WITH_FINDINGS else {}
    return CoveredImage(
        repository_name=f"team/{number % 4}",
        digest=f"sha256:{number:064x}",
        tags=(f"v{number}",),
        last_scanned_at=SCANNED,
        image_pulled_at=SCANNED - timedelta(days=number),
        in_use_count=2 if number % 3 == 0 else 0,
        last_in_use_at=SCANNED if number % 3 == 0 else None,
        severity_counts=counts,
    )


@pytest.fixture(scope="module")
def inspector(emulator: Emulator) -> Any:
    fill_coverage(ACCOUNT_ID, REGION, map(covered_image, range(COVERED)))
    return client("inspector2", emulator.endpoint_url, REGION)


def equals(value: str) -> list[dict[str, str]]:
    return [{"comparison": "EQUALS", "value": value}]


ECR_IMAGES = {"resourceType": equals("AWS_ECR_CONTAINER_IMAGE"), "accountId": equals(ACCOUNT_ID)}


def coverage(inspector: Any, criteria: dict[str, Any]) -> list[dict[str, Any]]:
    return items(inspector, "list_coverage", "ListCoverage", "coveredResources", filterCriteria=criteria)


def test_coverage_is_paged_by_200_and_carries_the_in_use_fields(inspector: Any) -> None:
    listed = list(
        pages(
            inspector,
            "list_coverage",
            "ListCoverage",
            filterCriteria=ECR_IMAGES,
            PaginationConfig={"PageSize": 200},
        )
    )

    assert [len(page["coveredResources"]) for page in listed] == [200, 50]
    resources = {resource["resourceId"]: resource for page in listed for resource in page["coveredResources"]}
    third = resources[f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/team/3/sha256:{3:064x}"]
    assert third["scanStatus"] == {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"}
    assert third["lastScannedAt"] == SCANNED
    assert third["resourceMetadata"]["ecrImage"] == {
        "tags": ["v3"],
        "imagePulledAt": SCANNED - timedelta(days=3),
        "inUseCount": 2,
        "lastInUseAt": SCANNED,
    }
    assert (
        sum(resource["resourceMetadata"]["ecrImage"]["inUseCount"] > 0 for resource in resources.values())
        == 84
    )


def test_coverage_filters_are_honoured_and_unknown_ones_refused(inspector: Any) -> None:
    assert coverage(inspector, {**ECR_IMAGES, "accountId": equals("999999999999")}) == []
    assert (
        coverage(
            inspector, {"resourceType": [{"comparison": "NOT_EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}]}
        )
        == []
    )
    team_one = coverage(inspector, {**ECR_IMAGES, "ecrRepositoryName": equals("team/1")})
    assert {resource["resourceMetadata"]["ecrRepository"]["name"] for resource in team_one} == {"team/1"}
    assert len(team_one) == COVERED // 4 + 1
    with pytest.raises(ClientError, match=r"ValidationException.*lambdaFunctionName"):
        coverage(inspector, {"lambdaFunctionName": equals("resize")})


def test_finding_aggregations_page_by_100_most_critical_first(inspector: Any) -> None:
    listed = list(
        pages(
            inspector,
            "list_finding_aggregations",
            "ListFindingAggregations",
            aggregationType="AWS_ECR_CONTAINER",
            accountIds=equals(ACCOUNT_ID),
            PaginationConfig={"PageSize": 100},
        )
    )

    assert [len(page["responses"]) for page in listed] == [100, 50]
    entries = [response["awsEcrContainerAggregation"] for page in listed for response in page["responses"]]
    criticals = [entry["severityCounts"]["critical"] for entry in entries]
    assert criticals == sorted(criticals, reverse=True)
    first = next(entry for entry in entries if entry["imageSha"] == f"sha256:{4:064x}")
    assert first["severityCounts"] == {
        "all": 4,
        "critical": 1,
        "high": 2,
        "medium": 0,
        "low": 0,
        "informational": 0,
        "untriaged": 1,
    }
    assert (first["repository"], first["imageTags"], first["inUseCount"]) == ("team/0", ["v4"], 0)
    assert {entry["imageSha"] for entry in entries} == {
        f"sha256:{number:064x}" for number in range(WITH_FINDINGS)
    }


@pytest.mark.parametrize(
    "arguments",
    [
        {"aggregationType": "AMI"},
        {
            "aggregationType": "AWS_ECR_CONTAINER",
            "aggregationRequest": {"awsEcrContainerAggregation": {"sortBy": "HIGH"}},
        },
    ],
)
def test_aggregations_the_emulator_does_not_make_are_refused(
    inspector: Any, arguments: dict[str, Any]
) -> None:
    with pytest.raises(ClientError, match="ValidationException"):
        inspector.list_finding_aggregations(**arguments)


def test_the_products_enhanced_scan_reader_reads_the_seeded_coverage(ecr: Any, inspector: Any) -> None:
    ecr.put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {
                "scanFrequency": "CONTINUOUS_SCAN",
                "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}],
            }
        ],
    )
    try:
        scans = registry_image_scans(ecr, inspector, ACCOUNT_ID, REGION, ["team/2"])
    finally:
        ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[])

    # The product calls Inspector's UNTRIAGED findings UNDEFINED, as ECR's basic scanning does.
    severities = {"UNTRIAGED": "UNDEFINED"}
    expected = {
        ("team/2", image.digest): EnhancedScan(
            "SUCCESSFUL",
            SCANNED,
            {severities.get(severity, severity): count for severity, count in image.severity_counts.items()},
            InspectorUse(image.in_use_count, image.last_in_use_at),
        )
        for image in map(covered_image, range(2, COVERED, 4))
    }
    assert scans.scan_type == "ENHANCED"
    assert dict(scans.images) == expected


def test_coverage_inspector_could_not_answer_is_refused_when_seeded() -> None:
    with pytest.raises(ValueError, match="ScanStatusReason"):
        CoveredImage("team/0", f"sha256:{0:064x}", reason="LOOKS_FINE")
    with pytest.raises(ValueError, match="in_use_count"):
        CoveredImage("team/0", f"sha256:{0:064x}", in_use_count=-1)


def test_faults_can_be_planned_for_the_rest_json_calls_of_lambda_and_inspector(
    emulator: Emulator, ecr: Any, functions: Any, role: str, inspector: Any
) -> None:
    image = f"{URI}@{push(ecr, 8, 'faults')}"
    functions.create_function(FunctionName="faulty", Role=role, PackageType="Image", Code={"ImageUri": image})
    plan = {
        "lambda:ListFunctions": ["denied"],
        "lambda:GetFunction": ["throttle"],
        "inspector2:ListCoverage": ["denied"],
        "ecs:ListClusters": ["denied"],
    }
    emulator.inject_faults(plan)
    try:
        with pytest.raises(ClientError, match=r"AccessDeniedException.*lambda:ListFunctions") as denied:
            functions.list_functions()
        retried = functions.get_function(FunctionName="faulty")
        with pytest.raises(ClientError, match=r"AccessDeniedException.*inspector2:ListCoverage"):
            inspector.list_coverage()
        with pytest.raises(ClientError, match=r"AccessDeniedException.*ecs:ListClusters"):
            client("ecs", emulator.endpoint_url, REGION).list_clusters()
        injected = emulator.faults_injected
    finally:
        emulator.inject_faults({})

    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert retried["ResponseMetadata"]["RetryAttempts"] == 1
    assert injected == [(operation, faults[0]) for operation, faults in plan.items()]
