"""The proof of ``iam/optional/image-usage.json`` for who may pull, under IAM enforced by the
emulator: with the file, the policy reads are allowed and leave nothing "not visible"; without each
of its ECR actions, that read is refused and named. (The DAG's least-privilege runs cannot show it:
moto refuses every Lambda request's signature under enforcement, so usage is unknown there and these
reads are rightly not made. It refuses EKS requests' signatures alike (SignatureDoesNotMatch), so
``eks:ListClusters`` and ``eks:DescribeCluster`` are proven only against botocore's model, in
tests/test_iam_policies.py.)"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from ecr_provider.aws.repository_policies import RepositoryPolicies, read_visibility
from ecr_provider.core.records import Repository
from ecr_provider.core.visibility import NO_POLICY, PolicyRead, RegistryVisibility
from emulator.demo_registry import DemoRegistry
from emulator.moto_iam import iam_enforced
from emulator.server import Emulator, client
from tests.conftest import REPO_ROOT
from tests.integration.conftest import REGION

pytestmark = pytest.mark.integration

POLICY = json.loads((REPO_ROOT / "iam" / "optional" / "image-usage.json").read_text())
ACTIONS = ("ecr:GetRegistryPolicy", "ecr:GetRepositoryPolicy")


def without(action: str) -> dict[str, Any]:
    statements = [
        {**statement, "Action": [name for name in statement["Action"] if name != action]}
        for statement in POLICY["Statement"]
    ]
    return {**POLICY, "Statement": [statement for statement in statements if statement["Action"]]}


def read_as(emulator: Emulator, user: str, document: dict[str, Any]) -> tuple[RegistryVisibility, PolicyRead]:
    iam = client("iam", emulator.endpoint_url, REGION)
    iam.create_user(UserName=user)
    policy = iam.create_policy(PolicyName=user, PolicyDocument=json.dumps(document))
    iam.attach_user_policy(UserName=user, PolicyArn=policy["Policy"]["Arn"])
    key = iam.create_access_key(UserName=user)["AccessKey"]
    repository = Repository.from_api(
        client("ecr", emulator.endpoint_url, REGION).describe_repositories(maxResults=1)["repositories"][0]
    )

    def as_user(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=emulator.endpoint_url,
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )

    ecr = as_user("ecr")
    label = f"{repository.account_id}/{REGION}"
    with iam_enforced():
        visibility = read_visibility(
            ecr, label=label, read_accounts=frozenset({repository.account_id}), unseen_eks=()
        )
        return visibility, RepositoryPolicies(ecr, label).read(repository)


def test_with_the_optional_file_every_read_is_allowed(
    emulator: Emulator, demo_registry: DemoRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        visibility, policy = read_as(emulator, "visibility-allowed", POLICY)
    assert caplog.records == []
    assert (visibility.registry_policy, policy) == (NO_POLICY, NO_POLICY)


@pytest.mark.parametrize("action", ACTIONS)
def test_without_each_action_its_read_is_refused_and_named(
    emulator: Emulator, demo_registry: DemoRegistry, caplog: pytest.LogCaptureFixture, action: str
) -> None:
    with caplog.at_level(logging.WARNING):
        visibility, policy = read_as(
            emulator, f"visibility-without-{action.replace(':', '-')}", without(action)
        )
    refused = {visibility.registry_policy.denied, policy.denied} - {""}
    assert refused == {action}
    assert [
        f"{action}" in record.getMessage() and "failed with AccessDenied" in record.getMessage()
        for record in caplog.records
    ] == [True]
