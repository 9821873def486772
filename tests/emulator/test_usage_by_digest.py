"""Services naming images by digest, read from the emulator the way the product reads them.

A service scaled to zero pulls, when scaled up, exactly what its task definition names: the digest
when it pins one (``repo@sha256:...``, or ``repo:tag@sha256:...`` where the digest wins over the tag),
else whatever the tag then points to. The expected verdicts come from the images pushed here, not
from the code under test.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from ecr_provider.aws.usage import UsageReader
from ecr_provider.core.cleanup import CleanupRules, cleanup_verdicts
from ecr_provider.core.records import Image
from ecr_provider.core.usage import repository_use
from emulator.server import ACCOUNT_ID, Emulator, client

pytestmark = pytest.mark.integration

REGION = "eu-north-1"
REPOSITORY = "shop/api"
URI = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"


def push(ecr: Any, number: int, tag: str) -> str:
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{number:064x}"}
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {**config, "size": 11},
            "layers": [],
        }
    )
    digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=body, imageTag=tag, imageDigest=digest)
    return digest


def service(ecs: Any, network: dict[str, Any], name: str, image: str, desired: int) -> None:
    definition = ecs.register_task_definition(
        family=name,
        containerDefinitions=[{"name": "app", "image": image, "memory": 128}],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="shop",
        serviceName=name,
        taskDefinition=definition,
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration=network,
    )


def test_services_naming_a_digest_keep_that_digest_whatever_its_tags_do(emulator: Emulator) -> None:
    ecr = client("ecr", emulator.endpoint_url, REGION)
    ecs = client("ecs", emulator.endpoint_url, REGION)
    ec2 = client("ec2", emulator.endpoint_url, REGION)
    ecr.create_repository(repositoryName=REPOSITORY)
    network = {
        "awsvpcConfiguration": {
            "subnets": [ec2.describe_subnets()["Subnets"][0]["SubnetId"]],
            "securityGroups": [
                ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
            ],
        }
    }
    ecs.create_cluster(clusterName="shop")
    pinned = push(ecr, 1, "v1")
    newer = push(ecr, 2, "v2")
    tagged = push(ecr, 3, "stable")
    pinned_with_tag = push(ecr, 4, "v4-rc")
    tag_named = push(ecr, 5, "v4")
    service(ecs, network, "idle-by-digest", f"{URI}@{pinned}", 0)
    service(ecs, network, "idle-by-tag", f"{URI}:stable", 0)
    service(ecs, network, "running-pinned", f"{URI}:v4@{pinned_with_tag}", 1)
    details = ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"]
    images = [Image.from_api(detail) for detail in details]

    usage = UsageReader(
        partial(client, endpoint_url=emulator.endpoint_url, region=REGION),
        ACCOUNT_ID,
        REGION,
        max_concurrency=2,
    ).read()
    uses = repository_use(images, usage, {})
    as_of = datetime.now(UTC) + timedelta(days=365)
    verdicts = cleanup_verdicts(images, uses, CleanupRules(), as_of, children={}, expiring=())

    places = {digest: use.places for digest, use in uses.items() if use.in_use}
    assert usage.known
    assert usage.sources == ("ECS", "Lambda")
    assert places == {
        pinned: ("ecs:shop/idle-by-digest",),
        tagged: ("ecs:shop/idle-by-tag",),
        pinned_with_tag: ("ecs:shop/running-pinned",),
    }
    assert uses[pinned].count == 0
    assert uses[pinned_with_tag].count == 1
    assert {digest: verdict.verdict for digest, verdict in verdicts.items()} == {
        pinned: "keep",
        newer: "reclaimable",
        tagged: "keep",
        pinned_with_tag: "keep",
        tag_named: "reclaimable",
    }
