"""EKS pods read through the Kubernetes API: DescribeCluster as the real API takes it (the Stubber checks
it against botocore's model), the pods listing paged and authenticated as EKS expects (the stand-in
checks the token's shape), each pod's images with their registry and place, a refused cluster left
not visible, and a source's pods grouped by the registry they pull from."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_provider.aws import eks_pods
from ecr_provider.aws.eks_pods import EksPods, cluster_token, pod_images, pod_place, read_pods
from ecr_provider.aws.usage import UsageReader
from ecr_provider.core.usage import FoundUse, RegistryUsage, UnseenEks
from tests.kubernetes_stand_in import KubernetesApi, pod, serving, token_is_eks_shaped

ACCOUNT = "111122223333"
REGION = "eu-west-1"
OWN = (ACCOUNT, REGION)
SHARED = ("444455556666", "us-east-1")
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
SHARED_REGISTRY = f"{SHARED[0]}.dkr.ecr.{SHARED[1]}.amazonaws.com"
WEB = "sha256:" + "a" * 64
AGENT = "sha256:" + "b" * 64
MIGRATE = "sha256:" + "c" * 64
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def web_pod(name: str) -> dict[str, Any]:
    return pod(
        name,
        [("web", f"{REGISTRY}/shop/web:1.2", f"docker-pullable://{REGISTRY}/shop/web@{WEB}")],
        namespace="shop",
        owner=("ReplicaSet", "web-5d8f7c9b4"),
        labels={"pod-template-hash": "5d8f7c9b4"},
        init=[("migrate", f"{REGISTRY}/shop/migrate:7", f"{REGISTRY}/shop/migrate@{MIGRATE}")],
    )


PODS = [
    web_pod("web-5d8f7c9b4-x1"),
    web_pod("web-5d8f7c9b4-x2"),
    pod(
        "agent-q9",
        [
            ("agent", f"{REGISTRY}/ops/agent@{AGENT}", ""),
            ("proxy", "public.ecr.aws/envoy/envoy:v1", "public.ecr.aws/envoy/envoy@sha256:" + "d" * 64),
        ],
        namespace="kube-system",
        owner=("DaemonSet", "agent"),
    ),
    pod("debug", [("shell", f"{REGISTRY}/ops/shell", "")]),
]


@pytest.fixture
def sts() -> Any:
    return boto3.client("sts", region_name=REGION, **KEYS)


@pytest.fixture
def eks() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("eks", region_name=REGION, **KEYS)
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def describe(stub: Stubber, name: str, api: KubernetesApi) -> None:
    cluster = {
        "name": name,
        "status": "ACTIVE",
        "endpoint": api.endpoint,
        "certificateAuthority": {"data": api.certificate_authority},
    }
    stub.add_response("describe_cluster", {"cluster": cluster}, {"name": name})


def test_a_pod_is_placed_by_the_workload_that_keeps_it_running() -> None:
    assert [pod_place(found) for found in PODS] == [
        "shop/web",
        "shop/web",
        "kube-system/agent",
        "default/debug",
    ]
    job = pod("report-29100-abcde", [], owner=("Job", "report-29100"), namespace="batch")
    assert pod_place(job) == "batch/report-29100"


def test_a_pods_images_are_its_containers_and_init_containers_digests_from_image_id() -> None:
    assert pod_images(PODS[0]) == ({(OWN, ("shop/web", WEB)), (OWN, ("shop/migrate", MIGRATE))}, set())
    # ECR Public is no registry's; a digest named in the image needs no imageID.
    assert pod_images(PODS[2]) == ({(OWN, ("ops/agent", AGENT))}, set())
    # No digest known: the tag it pulls (latest when none is named).
    assert pod_images(PODS[3]) == (set(), {(OWN, ("ops/shell", "latest"))})
    # Another account's registry: kept with it.
    shared = pod("web", [("web", f"{SHARED_REGISTRY}/base:1", f"{SHARED_REGISTRY}/base@{WEB}")])
    assert pod_images(shared) == ({(SHARED, ("base", WEB))}, set())
    # A bare sha256 imageID is the image's config digest, not a manifest: the tag is kept instead.
    config_only = pod("web", [("web", f"{REGISTRY}/shop/web:1.2", "sha256:" + "e" * 64)])
    assert pod_images(config_only) == (set(), {(OWN, ("shop/web", "1.2"))})


def test_the_token_is_a_presigned_get_caller_identity_signing_the_cluster_header(sts: Any) -> None:
    token = cluster_token(sts, "apps")
    assert token_is_eks_shaped(f"Bearer {token}")
    assert cluster_token(sts, "apps").startswith("k8s-aws-v1.aHR0cHM6Ly9zdHMu")  # "https://sts."


def test_running_pods_are_read_page_by_page(
    eks: tuple[Any, Stubber], sts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stub = eks
    monkeypatch.setattr(eks_pods, "PODS_PAGE_SIZE", 3)
    with serving(KubernetesApi(PODS)) as api:
        describe(stub, "apps", api)
        found = read_pods(client, sts, ["apps"], account_id=ACCOUNT, region=REGION)

    assert [(query["limit"], query.get("continue")) for query in api.requests] == [
        (["3"], None),
        (["3"], ["3"]),
    ]
    assert all(token_is_eks_shaped(token) for token in api.tokens)
    assert found == EksPods(
        FoundUse(
            running={
                (OWN, ("shop/web", WEB)): {"eks:apps/shop/web": 2},
                (OWN, ("shop/migrate", MIGRATE)): {"eks:apps/shop/web": 2},
                (OWN, ("ops/agent", AGENT)): {"eks:apps/kube-system/agent": 1},
            },
            needed={(OWN, ("ops/shell", "latest")): {"eks:apps/default/debug"}},
        ),
        read=("apps",),
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_unreachable_or_undescribed_clusters_warn_once_each_and_stay_unread(
    eks: tuple[Any, Stubber], sts: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client, stub = eks
    with serving(KubernetesApi(PODS, allowed=False)) as refusing, serving(KubernetesApi(PODS)) as gone:
        describe(stub, "locked", refusing)
        gone.endpoint = f"https://127.0.0.1:{closed_port()}"
        describe(stub, "gone", gone)
        stub.add_client_error("describe_cluster", "AccessDeniedException", expected_params={"name": "hidden"})
        with caplog.at_level(logging.WARNING):
            found = read_pods(client, sts, ["locked", "gone", "hidden"], account_id=ACCOUNT, region=REGION)

    assert found == EksPods(refused=("locked", "gone", "hidden"))
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 3
    assert "EKS cluster locked" in warnings[0]
    assert "GET /api/v1/pods on EKS cluster locked failed with HTTP 403" in warnings[0]
    assert "GET /api/v1/pods on EKS cluster gone failed" in warnings[1]
    assert "eks:DescribeCluster on hidden failed with AccessDeniedException" in warnings[2]


def listed_clusters(stub: Stubber, *names: str) -> None:
    stub.add_response("list_clusters", {"clusters": list(names)}, {"maxResults": 100})


def nothing_else(stack: ExitStack, service: str, operation: str, member: str) -> Any:
    """A source's ECS or Lambda with nothing running."""
    client = boto3.client(service, region_name=REGION, **KEYS)
    stub = stack.enter_context(Stubber(client))
    stub.add_response(operation, {member: []})
    return client


def source_clients(stack: ExitStack, eks: Any, sts: Any) -> Callable[[str], Any]:
    """A source's clients by service: ECS and Lambda with nothing running, its EKS and STS."""
    return {
        "ecs": nothing_else(stack, "ecs", "list_clusters", "clusterArns"),
        "lambda": nothing_else(stack, "lambda", "list_functions", "Functions"),
        "eks": eks,
        "sts": sts,
    }.__getitem__


def test_a_sources_pods_are_grouped_by_the_registry_they_pull_from_and_unread_clusters_named(
    eks: tuple[Any, Stubber], sts: Any
) -> None:
    client, stub = eks
    pulls_shared = pod(
        "api-1",
        [("api", f"{SHARED_REGISTRY}/base:1", f"{SHARED_REGISTRY}/base@{AGENT}")],
        namespace="shop",
        owner=("StatefulSet", "api"),
    )
    with ExitStack() as stack:
        clients = source_clients(stack, client, sts)
        apps = stack.enter_context(serving(KubernetesApi([PODS[0], pulls_shared])))
        locked = stack.enter_context(serving(KubernetesApi(PODS, allowed=False)))
        listed_clusters(stub, "apps", "locked")
        describe(stub, "apps", apps)
        describe(stub, "locked", locked)
        read = UsageReader(clients, ACCOUNT, REGION, 2).read_source()

    assert read.groups == {
        SHARED: RegistryUsage(running={("base", AGENT): {f"eks:{ACCOUNT}/{REGION}/apps/shop/api": 1}}),
        OWN: RegistryUsage(
            running={
                ("shop/web", WEB): {"eks:apps/shop/web": 1},
                ("shop/migrate", MIGRATE): {"eks:apps/shop/web": 1},
            }
        ),
    }
    assert (read.sources, read.unseen_eks) == (("ECS", "Lambda"), (UnseenEks(ACCOUNT, REGION, "locked"),))


def test_eks_is_a_source_when_every_cluster_was_read_and_not_when_there_is_none(
    eks: tuple[Any, Stubber], sts: Any
) -> None:
    client, stub = eks
    for clusters in (("apps",), ()):
        with ExitStack() as stack:
            clients = source_clients(stack, client, sts)
            apps = stack.enter_context(serving(KubernetesApi(PODS)))
            listed_clusters(stub, *clusters)
            if clusters:
                describe(stub, "apps", apps)
            read = UsageReader(clients, ACCOUNT, REGION, 2).read_source()
        assert (read.sources, read.unseen_eks) == (("ECS", "Lambda", *(("EKS",) if clusters else ())), ())
