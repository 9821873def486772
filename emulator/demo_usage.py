"""What runs the demo registry's images: ECS services and tasks and Lambda functions, and the truth of it.

The workloads name images of the demo registry the way a real account does, by tag or by digest, and
cover the cases pull time alone gets wrong: long-running services (in two clusters) whose images were
last pulled more than a year ago, a service with no running task whose definition still names its
image by tag (needed at its next start), an arm64 task running a child of a multi-arch index (not the
index), a Lambda function's image, and a sidecar from another registry. They are chosen by repository
and tag, never by the registry's random generator, so every other demo figure stays as it was.

:meth:`DemoUsage.uses` is the ground truth for tests: per image of the registry, the places that run it,
computed from the plan alone, never read back from the emulator. Seeding goes through the real ECS,
Lambda, IAM and EC2 APIs; what moto does not do itself (digests of running containers, a service's
tasks) comes from the gap modules, so it must run in the emulator's process.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from emulator.clients import account_client

ECS_SERVICE = "ecs-service"
ECS_TASK = "ecs-task"
LAMBDA = "lambda"
FOREIGN_SIDECAR = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
"""An image of another registry: it runs, but is no image of the demo registry."""
STOPPED_REASON = "Essential container in task exited"
LAMBDA_ROLE = "demo-lambda-execution"
ZIP_FUNCTION = "alerts-forwarder"
"""A function packaged as a zip archive: it runs no image."""
_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@dataclass(frozen=True, slots=True)
class DemoContainer:
    name: str
    image: str
    """As the task definition names it: a tag or a digest."""
    repository_name: str
    """Empty for an image of another registry."""
    digest: str
    """What the container runs; empty for an image of another registry."""


@dataclass(frozen=True, slots=True)
class DemoWorkload:
    """An ECS service (``service`` set) or a standalone task, with its task definition's containers."""

    cluster: str
    family: str
    containers: tuple[DemoContainer, ...]
    service: str = ""
    desired_count: int = 1
    running_count: int = 1
    """Fewer than desired: the service's other tasks stopped (:data:`STOPPED_REASON`)."""
    cpu_architecture: str = "X86_64"


@dataclass(frozen=True, slots=True)
class DemoFunction:
    name: str
    image: str
    """The function's ``ImageUri``."""
    repository_name: str
    digest: str


@dataclass(frozen=True, slots=True)
class ImageUse:
    """One place that runs an image, or will at its next start."""

    kind: str
    """:data:`ECS_SERVICE`, :data:`ECS_TASK` (standalone) or :data:`LAMBDA`."""
    cluster: str
    """The ECS cluster's name; empty for Lambda."""
    name: str
    """The service's name, the standalone task's family, or the function's name."""
    image: str
    """The reference as configured (tag or digest)."""
    running_tasks: int
    """ECS tasks running the image now: 0 for a service none of whose tasks runs, and for Lambda."""


@dataclass(frozen=True, slots=True)
class DemoUsage:
    account_id: str
    region: str
    workloads: tuple[DemoWorkload, ...]
    functions: tuple[DemoFunction, ...]

    @property
    def clusters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(workload.cluster for workload in self.workloads))

    def uses(self) -> dict[tuple[str, str], tuple[ImageUse, ...]]:
        """Per (repository, digest) of the registry, where it runs; an image absent runs nowhere
        (an index is absent when only its child runs)."""
        found: defaultdict[tuple[str, str], list[ImageUse]] = defaultdict(list)
        for workload in self.workloads:
            kind, name = (ECS_SERVICE, workload.service) if workload.service else (ECS_TASK, workload.family)
            for container in workload.containers:
                if container.digest:
                    use = ImageUse(kind, workload.cluster, name, container.image, workload.running_count)
                    found[container.repository_name, container.digest].append(use)
        for function in self.functions:
            use = ImageUse(LAMBDA, "", function.name, function.image, 0)
            found[function.repository_name, function.digest].append(use)
        return {key: tuple(uses) for key, uses in found.items()}


class _Image(Protocol):
    """What the workloads are planned from: an image of the demo registry, described here because
    :mod:`emulator.demo_registry`, which holds its ``SeededImage``, imports this module."""

    @property
    def repository_name(self) -> str: ...

    @property
    def digest(self) -> str: ...

    @property
    def tags(self) -> tuple[str, ...]: ...

    @property
    def manifest(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _Pick:
    """An image of the registry picked by repository and tag."""

    image: _Image
    uri: str
    """The repository's URI."""
    tag: str

    @property
    def repository_name(self) -> str:
        return self.image.repository_name

    def by_tag(self, name: str) -> DemoContainer:
        return DemoContainer(name, f"{self.uri}:{self.tag}", self.repository_name, self.image.digest)

    def by_digest(self, name: str, architecture: str | None = None) -> DemoContainer:
        """Pinned to the image's digest, or to its index's child of that architecture."""
        digest = self.image.digest if architecture is None else self.child(architecture)
        return DemoContainer(name, f"{self.uri}@{digest}", self.repository_name, digest)

    def child(self, architecture: str) -> str:
        manifests = json.loads(self.image.manifest)["manifests"]
        return next(
            str(each["digest"]) for each in manifests if each["platform"]["architecture"] == architecture
        )


def plan_demo_usage(account_id: str, region: str, images: Iterable[_Image]) -> DemoUsage:
    """The workloads :func:`seed_demo_usage` creates, without creating them."""
    tagged = {(image.repository_name, tag): image for image in images for tag in image.tags}

    def pick(repository_name: str, tag: str) -> _Pick:
        image = tagged.get((repository_name, tag))
        if image is None:
            raise KeyError(f"the demo registry has no {repository_name}:{tag}")
        return _Pick(image, f"{account_id}.dkr.ecr.{region}.amazonaws.com/{repository_name}", tag)

    foreign = DemoContainer("log-router", FOREIGN_SIDECAR, "", "")
    workloads = (
        DemoWorkload(
            "prod",
            "team-a-api",
            (
                pick("team-a/api", "prod").by_tag("api"),
                pick("platform/observability/otel-collector", "latest").by_tag("otel"),
            ),
            service="api",
            desired_count=2,
            running_count=2,
        ),
        DemoWorkload(
            "prod",
            "team-b-checkout",
            (pick("team-b/checkout", "latest").by_digest("checkout"), foreign),
            service="checkout",
            desired_count=2,
            running_count=2,
        ),
        DemoWorkload(
            "prod",
            "edge-proxy",
            (pick("edge/proxy", "prod").by_digest("proxy", "arm64"),),
            service="edge-proxy",
            cpu_architecture="ARM64",
        ),
        DemoWorkload(
            "prod",
            "legacy-monolith",
            (pick("legacy/monolith", "latest").by_tag("monolith"),),
            service="monolith",
        ),
        DemoWorkload(
            "batch",
            "legacy-reports",
            (pick("legacy/reports", "latest").by_tag("reports"),),
            service="reports",
        ),
        DemoWorkload(
            "batch",
            "team-c-indexer",
            (pick("team-c/indexer", "latest").by_tag("indexer"),),
            service="indexer",
            running_count=0,
        ),
        DemoWorkload("batch", "spark-nightly", (pick("data/spark-jobs", "latest").by_tag("spark"),)),
    )
    awscli = pick("tools/awscli", "latest")
    function = DemoFunction(
        "registry-housekeeping", f"{awscli.uri}:latest", awscli.repository_name, awscli.image.digest
    )
    return DemoUsage(account_id, region, workloads, (function,))


def seed_demo_usage(endpoint_url: str, usage: DemoUsage) -> None:
    """Create the workloads in the emulator at ``endpoint_url``, which must run in this process, in the
    usage's account (which may be another than the registry's)."""
    ecs = account_client("ecs", endpoint_url, usage.region, usage.account_id)
    network = _default_network(account_client("ec2", endpoint_url, usage.region, usage.account_id))
    for cluster in usage.clusters:
        ecs.create_cluster(clusterName=cluster)
    for workload in usage.workloads:
        _run(ecs, workload, network)
    _create_functions(endpoint_url, usage)


def _default_network(ec2: Any) -> dict[str, Any]:
    """awsvpc networking in the default VPC, as a Fargate task needs."""
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    groups = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    return {
        "awsvpcConfiguration": {
            "subnets": [subnets[0]["SubnetId"]],
            "securityGroups": [groups[0]["GroupId"]],
            "assignPublicIp": "DISABLED",
        }
    }


def _run(ecs: Any, workload: DemoWorkload, network: Mapping[str, Any]) -> None:
    definition = ecs.register_task_definition(
        family=workload.family,
        containerDefinitions=[
            {"name": container.name, "image": container.image, "essential": True, "memory": 256}
            for container in workload.containers
        ],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        runtimePlatform={"cpuArchitecture": workload.cpu_architecture, "operatingSystemFamily": "LINUX"},
        cpu="512",
        memory="1024",
    )["taskDefinition"]["taskDefinitionArn"]
    if not workload.service:
        ecs.run_task(
            cluster=workload.cluster,
            taskDefinition=definition,
            count=workload.running_count,
            launchType="FARGATE",
            networkConfiguration=network,
            startedBy="airflow",
        )
        return
    ecs.create_service(
        cluster=workload.cluster,
        serviceName=workload.service,
        taskDefinition=definition,
        desiredCount=workload.desired_count,
        launchType="FARGATE",
        networkConfiguration=network,
    )
    group = f"service:{workload.service}"
    arns = ecs.list_tasks(cluster=workload.cluster, desiredStatus="RUNNING")["taskArns"]
    tasks = ecs.describe_tasks(cluster=workload.cluster, tasks=arns)["tasks"] if arns else []
    for task in [task for task in tasks if task["group"] == group][workload.running_count :]:
        ecs.stop_task(cluster=workload.cluster, task=task["taskArn"], reason=STOPPED_REASON)


def _lambda_role(iam: Any) -> str:
    """One role for the functions of every region, as IAM is global: the demo may be seeded in several."""
    try:
        return str(iam.get_role(RoleName=LAMBDA_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = json.dumps(_LAMBDA_TRUST)
        return str(iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=trust)["Role"]["Arn"])


def _create_functions(endpoint_url: str, usage: DemoUsage) -> None:
    role = _lambda_role(account_client("iam", endpoint_url, usage.region, usage.account_id))
    functions = account_client("lambda", endpoint_url, usage.region, usage.account_id)
    for function in usage.functions:
        functions.create_function(
            FunctionName=function.name, Role=role, PackageType="Image", Code={"ImageUri": function.image}
        )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("handler.py", "def handler(event, context):\n    return event\n")
    functions.create_function(
        FunctionName=ZIP_FUNCTION,
        Role=role,
        Runtime="python3.12",
        Handler="handler.handler",
        Code={"ZipFile": archive.getvalue()},
    )
