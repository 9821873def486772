"""Usage benchmark: the ECS, Lambda and EKS calls a registry's "which images run" read makes, against
the minimum, and its wall time at a per-request latency.

An account with many clusters, services, tasks and image functions is seeded in the emulator (in this
process: the ECS and Lambda gap modules run the tasks and resolve the digests); the product's
``UsageReader`` then reads it once with its call counters attached. The minimum follows the APIs'
page sizes: ListClusters and ListTasks and ListServices 100 a page, DescribeTasks 100 tasks a call,
DescribeServices 10, ListFunctions 50, one GetFunction per image function, and no
DescribeTaskDefinition while every service has a running task; EKS's ListClusters once (no cluster is
seeded; its pods are read through each cluster's Kubernetes API, outside AWS).

Run ``python -m benchmarks.usage [--clusters N] [--services N] [--tasks N] [--functions N]``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import boto3

from ecr_provider.aws.call_stats import CallStats
from ecr_provider.aws.ecr import ecr_client_config
from ecr_provider.aws.usage import USAGE_SERVICES, UsageReader
from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS, Emulator, client

REGION = "us-east-1"
REPOSITORY = "bench/app"
CONCURRENCY = 32


def _manifest(number: int) -> str:
    """One layer of its own per image: moto derives an image's digest from its layers."""
    layer = {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "digest": f"sha256:{number:064x}",
        "size": 7,
    }
    config = {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": f"sha256:{number + 1:064x}",
        "size": 7,
    }
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [layer],
        }
    )


def seed(endpoint_url: str, clusters: int, services: int, tasks: int, functions: int) -> list[str]:
    """``services`` services of ``tasks`` tasks in each cluster, one image per service; returns the URIs."""
    ecr = client("ecr", endpoint_url, REGION)
    uri = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    images = max(services, functions)
    for number in range(images):
        ecr.put_image(repositoryName=REPOSITORY, imageManifest=_manifest(number), imageTag=f"v{number}")
    ecs = client("ecs", endpoint_url, REGION)
    ec2 = client("ec2", endpoint_url, REGION)
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    network = {
        "awsvpcConfiguration": {
            "subnets": [subnet["SubnetId"]],
            "securityGroups": [group["GroupId"]],
            "assignPublicIp": "DISABLED",
        }
    }
    for cluster in range(clusters):
        name = f"cluster-{cluster}"
        ecs.create_cluster(clusterName=name)
        for service in range(services):
            definition = ecs.register_task_definition(
                family=f"{name}-svc-{service}",
                containerDefinitions=[
                    {"name": "app", "image": f"{uri}:v{service}", "essential": True, "memory": 256}
                ],
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu="256",
                memory="512",
            )["taskDefinition"]["taskDefinitionArn"]
            ecs.create_service(
                cluster=name,
                serviceName=f"svc-{service}",
                taskDefinition=definition,
                desiredCount=tasks,
                launchType="FARGATE",
                networkConfiguration=network,
            )
    role = client("iam", endpoint_url, REGION).create_role(
        RoleName="bench-lambda",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    lambdas = client("lambda", endpoint_url, REGION)
    for number in range(functions):
        lambdas.create_function(
            FunctionName=f"fn-{number}", Role=role, PackageType="Image", Code={"ImageUri": f"{uri}:v{number}"}
        )
    return [f"{uri}:v{number}" for number in range(images)]


def minimum_calls(clusters: int, services: int, tasks: int, functions: int) -> dict[str, int]:
    per_cluster_tasks = services * tasks
    return {
        "ListClusters": max(1, math.ceil(clusters / 100)) + 1,  # ECS's, and EKS's once
        "ListTasks": clusters * max(1, math.ceil(per_cluster_tasks / 100)),
        "DescribeTasks": clusters * math.ceil(per_cluster_tasks / 100),
        "ListServices": clusters * max(1, math.ceil(services / 100)),
        "DescribeServices": clusters * math.ceil(services / 10),
        "ListFunctions": max(1, math.ceil(functions / 50)),
        "GetFunction": functions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=5, help="running tasks per service")
    parser.add_argument("--functions", type=int, default=120, help="Lambda image functions")
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    with Emulator(latency_ms=args.latency_ms) as emulator:
        started = time.monotonic()
        seed(emulator.endpoint_url, args.clusters, args.services, args.tasks, args.functions)
        seeded = time.monotonic() - started
        stats = CallStats()
        clients: dict[str, Any] = {}
        for service in USAGE_SERVICES:
            made = boto3.client(
                service,
                endpoint_url=emulator.endpoint_url,
                region_name=REGION,
                config=ecr_client_config(CONCURRENCY),
                **DUMMY_CREDENTIALS,
            )
            stats.attach(made)
            clients[service] = made
        started = time.monotonic()
        usage = UsageReader(clients.__getitem__, ACCOUNT_ID, REGION, CONCURRENCY).read()
        wall = time.monotonic() - started
    running_tasks = sum(
        count
        for places in usage.running.values()
        for place, count in places.items()
        if place.startswith("ecs:")
    )
    made = {name: counts["calls"] for name, counts in stats.as_dict().items()}
    minimum = minimum_calls(args.clusters, args.services, args.tasks, args.functions)
    print(
        f"usage read: {args.clusters} clusters x {args.services} services x {args.tasks} tasks, "
        f"{args.functions} image functions; seeded in {seeded:.1f} s; latency {args.latency_ms} ms"
    )
    print(f"  found: {running_tasks} running tasks, {len(usage.running)} images running, known={usage.known}")
    print(
        f"  calls: {sum(made.values())} (minimum {sum(minimum.values())}); "
        f"wall {wall:.2f} s at concurrency {CONCURRENCY}"
    )
    for name in sorted(minimum):
        print(f"    {name:<24} {made.get(name, 0):>6}  minimum {minimum[name]:>6}")
    extra = sorted(set(made) - set(minimum))
    if extra:
        print(f"    beyond the minimum's operations: {', '.join(f'{name} {made[name]}' for name in extra)}")


if __name__ == "__main__":
    main()
