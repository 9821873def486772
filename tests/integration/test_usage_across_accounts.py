"""Issue 25's organisation, through the DAG: a shared account's registries, workloads in two other
accounts (one in another region) pulling from them by tag and by digest, in batches of one registry.
Workload account A also runs an EKS cluster whose pods the reporting role may list (served by the
Kubernetes API stand-in); workload account B one whose pods it cannot read.

The truth is the scenario's own table (``IMAGES``): which workload runs which image, written here and
seeded through the real ECS, Lambda and EKS APIs in each workload account (the pods through the
stand-in); nothing is read back through the code under test.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from moto.backends import get_backend
from moto.ecr import models as ecr_models

from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.layout import report_key
from emulator import moto_ecr_gaps
from emulator.clients import account_client
from emulator.demo_usage import DemoContainer, DemoFunction, DemoUsage, DemoWorkload, seed_demo_usage
from emulator.destination import ReportDestination
from emulator.moto_eks_gaps import serve_cluster
from emulator.server import Emulator, client
from tests.integration.conftest import AS_OF, REGION, REPORT_DATE, RunDag, visible_generation
from tests.kubernetes_stand_in import KubernetesApi, pod, serving

pytestmark = pytest.mark.integration

SHARED = "710000000001"
"""The shared-services account: its registries are reported, in both regions."""
WORKLOAD_A, WORKLOAD_B = "720000000002", "730000000003"
"""Workload accounts: read for usage only (``workload_accounts``)."""
HOME, AWAY = "eu-central-1", "ca-central-1"
"""No other test uses them: every workload and image here is this scenario's."""
UNREAD = "740000000004"
"""Granted pull on one repository, but its workloads are not read."""
PREFIX = "usage-across-accounts"
ROLE = "ecr-report"
PUSHED = AS_OF - timedelta(days=200)
PULLED = AS_OF - timedelta(days=150)
"""Long before ``reclaim_after_days`` (90): pull time alone calls every image here unused."""
_MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})


@dataclass(frozen=True)
class Seeded:
    """One image of a shared registry and the places that run it (``inUseBy`` as the report names them)."""

    region: str
    repository: str
    tag: str
    places: tuple[str, ...]
    count: int
    """ECS tasks running it plus the functions using it."""

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(f"{self.region}/{self.repository}:{self.tag}".encode()).hexdigest()

    @property
    def uri(self) -> str:
        return f"{SHARED}.dkr.ecr.{self.region}.amazonaws.com/{self.repository}"

    def by_tag(self, name: str) -> DemoContainer:
        return DemoContainer(name, f"{self.uri}:{self.tag}", self.repository, self.digest)

    def by_digest(self, name: str) -> DemoContainer:
        return DemoContainer(name, f"{self.uri}@{self.digest}", self.repository, self.digest)

    def function(self, name: str, *, by_digest: bool = False) -> DemoFunction:
        """Lambda runs images of its own region only (of any account that grants it)."""
        reference = f"{self.uri}@{self.digest}" if by_digest else f"{self.uri}:{self.tag}"
        return DemoFunction(name, reference, self.repository, self.digest)


IMAGES = {
    "unused": Seeded(HOME, "platform/api", "v0", (), 0),
    "a-service-by-tag": Seeded(HOME, "platform/api", "v1", (f"ecs:{WORKLOAD_A}/{HOME}/prod/api",), 2),
    "b-service-by-digest": Seeded(HOME, "platform/api", "v2", (f"ecs:{WORKLOAD_B}/{AWAY}/edge/api",), 1),
    "b-scaled-to-zero": Seeded(HOME, "platform/api", "v3", (f"ecs:{WORKLOAD_B}/{AWAY}/edge/idle",), 0),
    "a-function-by-tag": Seeded(HOME, "platform/worker", "prod", (f"lambda:{WORKLOAD_A}/{HOME}/worker",), 1),
    "b-function-by-digest": Seeded(
        AWAY, "tools/worker", "old", (f"lambda:{WORKLOAD_B}/{AWAY}/worker-old",), 1
    ),
    "own-function": Seeded(HOME, "platform/worker", "shared", ("lambda:shared-worker",), 1),
    "a-task-from-the-other-region": Seeded(
        AWAY, "tools/cli", "v1", (f"ecs:{WORKLOAD_A}/{HOME}/prod/family:cli-job",), 1
    ),
    "away-unused": Seeded(AWAY, "tools/cli", "v0", (), 0),
    "a-pods-by-digest": Seeded(HOME, "platform/api", "v4", (f"eks:{WORKLOAD_A}/{HOME}/pods/shop/api",), 2),
    "worker-unused": Seeded(HOME, "platform/worker", "v0", (), 0),
}
READ_CLUSTER, LOCKED_CLUSTER = "pods", "locked"
"""A's cluster (its pods listed) and B's (no access: its pods are never read)."""
GRANTS = {
    (HOME, "platform/api"): (WORKLOAD_A, WORKLOAD_B),
    (AWAY, "tools/cli"): (WORKLOAD_A, UNREAD),
}
"""Repository policies letting accounts pull (as cross-account pulls need): a grant to an account whose
workloads were read in full leaves an image nobody runs ``unused``; one to an unread account, or to one
with a cluster whose pods were not read, does not. ``platform/worker`` has no policy: only the shared
account's own workloads, all read, could pull it."""
NOT_VISIBLE = {
    "away-unused": f"usage-not-visible: use from account {UNREAD} is not visible",
    "unused": f"usage-not-visible: use from EKS cluster {WORKLOAD_B}/{AWAY}/{LOCKED_CLUSTER} (pods not read) "
    "is not visible",
}


def pull_policy(accounts: tuple[str, ...]) -> str:
    principals = [f"arn:aws:iam::{account}:root" for account in accounts]
    statement = {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": ["ecr:BatchGetImage"]}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def seed_image(image: Seeded) -> None:
    backend = get_backend("ecr")[SHARED][image.region]
    if image.repository not in backend.repositories:
        backend.create_repository(image.repository, None, {}, {"scanOnPush": False}, "MUTABLE", [])
    model = ecr_models.Image(SHARED, image.tag, _MANIFEST, image.repository, None, image.digest)
    moto_ecr_gaps.fill_image_model(model, size_bytes=2**20, pushed_at=PUSHED, last_recorded_pull_time=PULLED)
    backend.repositories[image.repository].images.append(model)
    accounts = GRANTS.get((image.region, image.repository))
    if accounts:
        backend.repositories[image.repository].policy = pull_policy(accounts)


def workloads() -> list[DemoUsage]:
    """Workload A in the shared registries' home region, workload B in the other; the shared account
    runs one function of its own."""
    image = IMAGES
    return [
        DemoUsage(
            WORKLOAD_A,
            HOME,
            (
                DemoWorkload(
                    "prod",
                    "api",
                    (image["a-service-by-tag"].by_tag("api"),),
                    service="api",
                    desired_count=2,
                    running_count=2,
                ),
                DemoWorkload("prod", "cli-job", (image["a-task-from-the-other-region"].by_tag("cli"),)),
            ),
            (image["a-function-by-tag"].function("worker"),),
        ),
        DemoUsage(
            WORKLOAD_B,
            AWAY,
            (
                DemoWorkload("edge", "api", (image["b-service-by-digest"].by_digest("api"),), service="api"),
                DemoWorkload(
                    "edge",
                    "idle",
                    (image["b-scaled-to-zero"].by_tag("idle"),),
                    service="idle",
                    running_count=0,
                ),
            ),
            (image["b-function-by-digest"].function("worker-old", by_digest=True),),
        ),
        DemoUsage(
            SHARED,
            HOME,
            (),
            (image["own-function"].function("shared-worker"),),
        ),
    ]


def create_cluster(emulator: Emulator, account: str, region: str, name: str) -> None:
    account_client("eks", emulator.endpoint_url, region, account).create_cluster(
        name=name,
        roleArn=f"arn:aws:iam::{account}:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1"]},
    )


@pytest.fixture(scope="module")
def rows(emulator: Emulator, destination: ReportDestination, run_dag: RunDag) -> dict[str, dict[str, str]]:
    for image in IMAGES.values():
        seed_image(image)
    for usage in workloads():
        seed_demo_usage(emulator.endpoint_url, usage)
    by_pods = IMAGES["a-pods-by-digest"].by_digest("api")
    pods = [
        pod(
            f"api-{n}",
            [("api", by_pods.image, by_pods.image)],
            namespace="shop",
            owner=("StatefulSet", "api"),
        )
        for n in range(2)
    ]
    create_cluster(emulator, WORKLOAD_A, HOME, READ_CLUSTER)
    # Never served: its DescribeCluster gives no endpoint, so its pods cannot be read.
    create_cluster(emulator, WORKLOAD_B, AWAY, LOCKED_CLUSTER)
    with serving(KubernetesApi(pods)) as api:
        serve_cluster(
            WORKLOAD_A,
            HOME,
            READ_CLUSTER,
            endpoint=api.endpoint,
            certificate_authority=api.certificate_authority,
        )
        result = run_dag(
            {
                "regions": [HOME, AWAY],
                "accounts": [SHARED],
                "workload_accounts": [WORKLOAD_A, WORKLOAD_B],
                "role_name": ROLE,
                "batch_size": 1,
                "report_bucket": destination.bucket,
                "report_prefix": PREFIX,
                "athena_database": "usage_across_accounts",
                "reclaim_after_days": 90,
                "storage_threshold_gb": 100_000,
            }
        )
    mapped = {"usage[0]", "usage[1]", "registry_report[0]", "registry_report[1]"}
    assert mapped <= set(result.tasks_in("success")), result.tail()
    s3 = client("s3", emulator.endpoint_url, REGION)
    generation = visible_generation(emulator, destination.bucket, PREFIX)
    found = {}
    for region in (HOME, AWAY):
        key = report_key(PREFIX, "images_summary", REPORT_DATE, SHARED, region, generation=generation)
        body = s3.get_object(Bucket=destination.bucket, Key=key)["Body"].read().decode("utf-8")
        for row in read_canonical(io.StringIO(body, newline="")):
            found[row["imageDigest"]] = row
    return found


@pytest.mark.parametrize("name", list(IMAGES))
def test_every_image_is_in_use_where_the_organisation_runs_it(
    rows: dict[str, dict[str, str]], name: str
) -> None:
    image = IMAGES[name]
    row = rows[image.digest]
    assert (row["region"], row["repositoryName"]) == (image.region, image.repository)
    assert row["inUse"] == ("true" if image.places else "false")
    assert row["inUseCount"] == str(image.count)
    assert json.loads(row["inUseBy"]) == list(image.places)
    if image.places:
        assert (row["cleanupVerdict"], row["cleanupReason"]) == ("keep", "in-use")
    elif name in NOT_VISIBLE:
        assert (row["cleanupVerdict"], row["cleanupReason"]) == ("keep", NOT_VISIBLE[name])
    else:  # "unused": its repository lets the workload accounts pull, and their workloads were read
        assert (row["cleanupVerdict"], row["cleanupReason"]) == ("reclaimable", "unused")


def test_the_report_holds_the_seeded_images_only(rows: dict[str, dict[str, str]]) -> None:
    assert set(rows) == {image.digest for image in IMAGES.values()}


def test_usage_travels_through_s3_grouped_by_registry(
    rows: dict[str, dict[str, str]], emulator: Emulator, destination: ReportDestination
) -> None:
    listed = client("s3", emulator.endpoint_url, REGION).list_objects_v2(
        Bucket=destination.bucket, Prefix=f"{PREFIX}/_runs/report_date={REPORT_DATE}/usage/"
    )
    keys = sorted(item["Key"].rsplit("/usage/", 1)[1] for item in listed["Contents"])
    assert keys == sorted(
        [
            f"{SHARED}-{HOME}/{SHARED}-{HOME}.json",
            f"{SHARED}-{HOME}/{WORKLOAD_A}-{HOME}.json",
            f"{SHARED}-{HOME}/{WORKLOAD_B}-{AWAY}.json",
            f"{SHARED}-{AWAY}/{SHARED}-{AWAY}.json",
            f"{SHARED}-{AWAY}/{WORKLOAD_A}-{HOME}.json",
            f"{SHARED}-{AWAY}/{WORKLOAD_B}-{AWAY}.json",
            f"_eks/{WORKLOAD_A}-{HOME}.json",
            f"_eks/{WORKLOAD_B}-{AWAY}.json",
        ]
    )


def test_each_registry_names_the_runtimes_read_in_every_account(
    rows: dict[str, dict[str, str]], emulator: Emulator, destination: ReportDestination
) -> None:
    s3 = client("s3", emulator.endpoint_url, REGION)
    generation = visible_generation(emulator, destination.bucket, PREFIX)
    for region in (HOME, AWAY):
        key = report_key(PREFIX, "registries_summary", REPORT_DATE, SHARED, region, generation=generation)
        body = s3.get_object(Bucket=destination.bucket, Key=key)["Body"].read().decode("utf-8")
        assert [row["usageSources"] for row in read_canonical(io.StringIO(body, newline=""))] == [
            '["ECS","Lambda"]'
        ]
