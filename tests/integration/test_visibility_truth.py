"""Use that is not visible, end to end: the demo registry reported twice through the DAG, before and
after its repositories' policies let another account, the organisation and anyone pull, and an EKS
cluster (no enhanced scanning) runs in its account and region. (moto accepts only the registry
policy's replication actions, not the pull actions ECR's V2 registry policy scope allows, so the
registry policy is proven with the Stubber in tests/aws/test_repository_policies.py and
tests/core/test_visibility.py.)

The truth is the scenario: every image the first run called ``unused`` is kept in the second with
``usage-not-visible`` naming exactly whose use is not visible (the grants set on its repository,
plus the cluster); every other verdict, and every ``inUse`` figure, is the same in both runs.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.layout import report_key
from emulator.demo_registry import DemoRegistry, seed_demo_registry
from emulator.destination import ReportDestination
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.integration.conftest import AS_OF, REPORT_DATE, RunDag, visible_generation

pytestmark = pytest.mark.integration

REGION = "sa-east-1"
"""No other test uses it: the cluster and the policies stay this registry's."""
PREFIX = "visibility-truth"
OTHER = "444455556666"
THIRD = "777788889999"
ORGANISATION = "o-a1b2c3d4e5"
CLUSTER = "platform"
CLUSTER_PART = f"EKS cluster {CLUSTER} (pods not read)"


def pull_policy(principal: Any, **more: Any) -> str:
    statement = {"Sid": "Pull", "Effect": "Allow", "Principal": principal, "Action": ["ecr:BatchGetImage"]}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**statement, **more}]})


def read_report(emulator: Emulator, bucket: str, prefix: str, report: str) -> list[dict[str, str]]:
    generation = visible_generation(emulator, bucket, prefix)
    key = report_key(prefix, report, REPORT_DATE, ACCOUNT_ID, REGION, generation=generation)
    body = client("s3", emulator.endpoint_url, REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    return list(read_canonical(io.StringIO(body.decode("utf-8"), newline="")))


def run(emulator: Emulator, destination: ReportDestination, run_dag: RunDag, prefix: str) -> dict[str, Any]:
    run_dag({"regions": [REGION], "report_bucket": destination.bucket, "report_prefix": prefix})
    images = read_report(emulator, destination.bucket, prefix, "images_summary")
    return {
        "images": {(row["repositoryName"], row["imageDigest"]): row for row in images},
        "registry": read_report(emulator, destination.bucket, prefix, "registries_summary"),
    }


@pytest.fixture(scope="module")
def runs(
    emulator: Emulator, destination: ReportDestination, run_dag: RunDag
) -> tuple[DemoRegistry, dict[str, Any], dict[str, Any], dict[str, str]]:
    registry = seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)
    before = run(emulator, destination, run_dag, f"{PREFIX}-before")
    unused_by_repository: dict[str, int] = {}
    for (repository, _), row in before["images"].items():
        unused_by_repository[repository] = unused_by_repository.get(repository, 0) + (
            row["cleanupReason"] == "unused"
        )
    names = sorted(unused_by_repository, key=lambda name: (-unused_by_repository[name], name))
    assert unused_by_repository[names[2]] > 0, unused_by_repository  # three repositories to grant on
    ecr = client("ecr", emulator.endpoint_url, REGION)
    ecr.set_repository_policy(
        repositoryName=names[0],
        policyText=pull_policy({"AWS": [f"arn:aws:iam::{OTHER}:root", f"arn:aws:iam::{ACCOUNT_ID}:root"]}),
    )
    ecr.set_repository_policy(
        repositoryName=names[1],
        policyText=pull_policy("*", Condition={"StringEquals": {"aws:PrincipalOrgID": ORGANISATION}}),
    )
    ecr.set_repository_policy(repositoryName=names[2], policyText=pull_policy({"AWS": "*"}))
    client("eks", emulator.endpoint_url, REGION).create_cluster(
        name=CLUSTER,
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1"]},
    )
    after = run(emulator, destination, run_dag, f"{PREFIX}-after")
    granted = {
        names[0]: f"account {OTHER} and {CLUSTER_PART}",
        names[1]: f"the organisation {ORGANISATION} and {CLUSTER_PART}",
        names[2]: f"any principal and {CLUSTER_PART}",
    }
    return registry, before, after, granted


def test_every_image_once_unused_is_kept_naming_whose_use_is_not_visible(
    runs: tuple[DemoRegistry, dict[str, Any], dict[str, Any], dict[str, str]],
) -> None:
    registry, before, after, granted = runs
    assert (
        set(before["images"])
        == set(after["images"])
        == {(image.repository_name, image.digest) for image in registry.images}
    )
    changed = 0
    for key, was in before["images"].items():
        now = after["images"][key]
        for column in ("inUse", "inUseCount", "inUseBy", "lastInUseAt"):
            assert now[column] == was[column], (key, column)
        if was["cleanupReason"] != "unused":
            assert (now["cleanupVerdict"], now["cleanupReason"]) == (
                was["cleanupVerdict"],
                was["cleanupReason"],
            ), key
            continue
        whose = granted.get(key[0], CLUSTER_PART)
        assert (now["cleanupVerdict"], now["cleanupReason"]) == (
            "keep",
            f"usage-not-visible: use from {whose} is not visible",
        ), key
        changed += 1
    assert changed == sum(row["cleanupReason"] == "unused" for row in before["images"].values()) > 0


def test_the_registry_says_which_usage_sources_were_read(
    runs: tuple[DemoRegistry, dict[str, Any], dict[str, Any], dict[str, str]],
) -> None:
    _, before, after, _ = runs
    assert [row["usageSources"] for row in before["registry"]] == ['["ECS","Lambda"]']
    assert [row["usageSources"] for row in after["registry"]] == ['["ECS","Lambda"]']
