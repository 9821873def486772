"""The emulator's EKS: a cluster has no API endpoint (moto's is a made-up AWS host) until it is served
on loopback, and then its pods are read through DescribeCluster and the Kubernetes API stand-in."""

from __future__ import annotations

import logging

import pytest

from ecr_provider.aws.eks_pods import EksPods, read_pods
from ecr_provider.core.usage import FoundUse
from emulator.moto_eks_gaps import serve_cluster
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.kubernetes_stand_in import KubernetesApi, pod, serving

pytestmark = pytest.mark.integration

REGION = "eu-west-1"
DIGEST = "sha256:" + "f" * 64
IMAGE = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/shop/web"


def test_a_cluster_is_read_only_once_served_on_loopback(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    eks = client("eks", emulator.endpoint_url, REGION)
    sts = client("sts", emulator.endpoint_url, REGION)
    eks.create_cluster(
        name="apps", roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/eks", resourcesVpcConfig={"subnetIds": ["s-1"]}
    )
    assert {"endpoint", "certificateAuthority"}.isdisjoint(eks.describe_cluster(name="apps")["cluster"])

    with caplog.at_level(logging.WARNING):
        unserved = read_pods(eks, sts, ["apps"], account_id=ACCOUNT_ID, region=REGION)
    assert unserved == EksPods(refused=("apps",))
    assert "EKS cluster apps has no API endpoint or CA yet (status ACTIVE)" in caplog.text

    pods = [pod("web-1", [("web", f"{IMAGE}:1", f"{IMAGE}@{DIGEST}")], owner=("StatefulSet", "web"))]
    with serving(KubernetesApi(pods)) as api:
        serve_cluster(
            ACCOUNT_ID, REGION, "apps", endpoint=api.endpoint, certificate_authority=api.certificate_authority
        )
        served = read_pods(eks, sts, ["apps"], account_id=ACCOUNT_ID, region=REGION)
    running = {((ACCOUNT_ID, REGION), ("shop/web", DIGEST)): {"eks:apps/default/web": 1}}
    assert served == EksPods(FoundUse(running=running), read=("apps",))
