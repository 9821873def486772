"""EKS pods end to end: the demo registry's account and region run two EKS clusters (no enhanced
scanning), each served by the Kubernetes API stand-in on loopback: ``apps``, whose access entry lets
the reporting role list pods, runs by tag an old image nothing else runs; ``locked`` answers 403.

The truth is the scenario: that image is in use by its pods' workload (``eks:apps/shop/web``) and kept
as ``in-use``; every image that would otherwise be ``unused`` is ``usage-not-visible`` naming
``locked`` alone, as the pods of ``apps`` were read; EKS is not a source read in full.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest

from ecr_provider.core.csv_format import read_canonical
from emulator.demo_registry import SeededImage, seed_demo_registry
from emulator.destination import ReportDestination
from emulator.moto_eks_gaps import serve_cluster
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.integration.conftest import AS_OF, REPORT_DATE, RunDag, visible_generation
from tests.kubernetes_stand_in import KubernetesApi, pod, serving

pytestmark = pytest.mark.integration

REGION = "ca-central-1"
"""No other test uses it: the clusters stay this registry's."""
PREFIX = "eks-pods-truth"
RECLAIM_AFTER_DAYS = 90
PLACE = "eks:apps/shop/web"
Run = tuple[SeededImage, dict[tuple[str, str], dict[str, str]], list[dict[str, str]]]
"""The image only pods run, the images' rows by (repository, digest), the registry's rows."""
LOCKED = "usage-not-visible: use from EKS cluster locked (pods not read) is not visible"


def read_report(emulator: Emulator, bucket: str, report: str) -> list[dict[str, str]]:
    generation = visible_generation(emulator, bucket, PREFIX)
    key = f"{PREFIX}/{report}/report_date={REPORT_DATE}/generation={generation}/{ACCOUNT_ID}-{REGION}.csv"
    body = client("s3", emulator.endpoint_url, REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    return list(read_canonical(io.StringIO(body.decode("utf-8"), newline="")))


def old_unused_image(images: list[SeededImage], uses: Any) -> SeededImage:
    cutoff = AS_OF - timedelta(days=RECLAIM_AFTER_DAYS)
    children = {child for image in images for child in image.child_digests}
    return next(
        image
        for image in images
        if image.tags
        and (image.repository_name, image.digest) not in uses
        and image.status == "ACTIVE"
        and image.digest not in children
        and not image.child_digests
        and not image.subject_manifest_digest
        and (image.last_pull is None or image.last_pull < cutoff)
        and image.pushed_at < cutoff
    )


@pytest.fixture(scope="module")
def run(emulator: Emulator, destination: ReportDestination, run_dag: RunDag) -> Run:
    registry = seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)
    image = old_unused_image(list(registry.images), registry.usage.uses())
    uri = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{image.repository_name}"
    pods = [
        pod(
            f"web-7c9f-{n}",
            [("web", f"{uri}:{image.tags[0]}", f"{uri}@{image.digest}")],
            namespace="shop",
            owner=("ReplicaSet", "web-7c9f"),
            labels={"pod-template-hash": "7c9f"},
        )
        for n in range(2)
    ]
    eks = client("eks", emulator.endpoint_url, REGION)
    with serving(KubernetesApi(pods)) as apps, serving(KubernetesApi(pods, allowed=False)) as locked:
        for name, api in (("apps", apps), ("locked", locked)):
            eks.create_cluster(
                name=name,
                roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/eks",
                resourcesVpcConfig={"subnetIds": ["subnet-1"]},
            )
            serve_cluster(
                ACCOUNT_ID,
                REGION,
                name,
                endpoint=api.endpoint,
                certificate_authority=api.certificate_authority,
            )
        run_dag(
            {
                "regions": [REGION],
                "report_bucket": destination.bucket,
                "report_prefix": PREFIX,
                "reclaim_after_days": RECLAIM_AFTER_DAYS,
            }
        )
    images = read_report(emulator, destination.bucket, "images_summary")
    return (
        image,
        {(row["repositoryName"], row["imageDigest"]): row for row in images},
        read_report(emulator, destination.bucket, "registries_summary"),
    )


def test_an_image_only_eks_pods_run_is_in_use_by_their_workload(
    run: Run,
) -> None:
    image, rows, _ = run
    row = rows[(image.repository_name, image.digest)]
    assert (row["inUse"], row["inUseCount"], row["cleanupVerdict"], row["cleanupReason"]) == (
        "true",
        "2",
        "keep",
        "in-use",
    )
    assert PLACE in row["inUseBy"]


def test_a_refusing_cluster_leaves_use_not_visible_naming_it_alone(
    run: Run,
) -> None:
    _, rows, registry = run
    reasons = [row["cleanupReason"] for row in rows.values()]
    assert "unused" not in reasons
    not_visible = [reason for reason in reasons if reason.startswith("usage-not-visible")]
    assert not_visible
    assert set(not_visible) == {LOCKED}
    assert [row["usageSources"] for row in registry] == ['["ECS","Lambda"]']
