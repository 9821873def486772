"""Policy reads: calls the real API accepts (the Stubber checks them against botocore's model); a missing
policy grants nothing, a refused call warns once and leaves that use not visible."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ecr_provider.aws.repository_policies import RepositoryPolicies, read_visibility
from ecr_provider.core.records import Repository
from ecr_provider.core.usage import UnseenEks
from ecr_provider.core.visibility import NO_POLICY, PolicyRead, RegistryVisibility

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "eu-west-1"
LABEL = f"{ACCOUNT}/{REGION}"
READ = frozenset({ACCOUNT})
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "ecr:BatchGetImage"}],
    }
)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    ecr = boto3.client("ecr", region_name=REGION)
    with Stubber(ecr) as ecr_stub:
        yield ecr, ecr_stub
        ecr_stub.assert_no_pending_responses()


def repository(name: str) -> Repository:
    arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"
    return Repository.from_api({"repositoryName": name, "repositoryArn": arn, "registryId": ACCOUNT})


def test_the_registry_policy_is_read_once_beside_the_runs_unseen_clusters(stubbed: tuple[Any, ...]) -> None:
    ecr, ecr_stub = stubbed
    ecr_stub.add_response("get_registry_policy", {"registryId": ACCOUNT, "policyText": POLICY}, {})
    unseen = (UnseenEks(ACCOUNT, REGION, "prod"),)

    found = read_visibility(ecr, label=LABEL, read_accounts=READ, unseen_eks=unseen)

    assert found == RegistryVisibility(READ, registry_policy=PolicyRead(POLICY), unseen_eks=unseen)


def test_no_registry_policy_grants_nothing(stubbed: tuple[Any, ...]) -> None:
    ecr, ecr_stub = stubbed
    ecr_stub.add_client_error("get_registry_policy", "RegistryPolicyNotFoundException")

    assert read_visibility(ecr, label=LABEL, read_accounts=READ, unseen_eks=()) == RegistryVisibility(READ)


def test_a_refused_registry_policy_warns_once_and_is_named(
    stubbed: tuple[Any, ...], caplog: pytest.LogCaptureFixture
) -> None:
    ecr, ecr_stub = stubbed
    ecr_stub.add_client_error("get_registry_policy", "AccessDeniedException")

    with caplog.at_level(logging.WARNING):
        found = read_visibility(ecr, label=LABEL, read_accounts=READ, unseen_eks=())

    assert found.registry_policy == PolicyRead(None, "ecr:GetRegistryPolicy")
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "ecr:GetRegistryPolicy failed with AccessDeniedException" in warnings[0]


def test_repository_policies_found_missing_and_refused_once(
    stubbed: tuple[Any, ...], caplog: pytest.LogCaptureFixture
) -> None:
    ecr, ecr_stub = stubbed
    names = {"repositoryName": "web", "registryId": ACCOUNT}
    ecr_stub.add_response("get_repository_policy", {"policyText": POLICY, **names}, names)
    ecr_stub.add_client_error(
        "get_repository_policy",
        "RepositoryPolicyNotFoundException",
        expected_params={**names, "repositoryName": "api"},
    )
    ecr_stub.add_client_error(
        "get_repository_policy", "AccessDeniedException", expected_params={**names, "repositoryName": "db"}
    )
    policies = RepositoryPolicies(ecr, LABEL)

    with caplog.at_level(logging.WARNING):
        found = [policies.read(repository(name)) for name in ("web", "api", "db", "queue")]

    refused = PolicyRead(None, "ecr:GetRepositoryPolicy")
    assert found == [PolicyRead(POLICY), NO_POLICY, refused, refused]  # "queue" was not asked
    assert [record.getMessage() for record in caplog.records] == [
        f"Registry {LABEL}: its repository policies are unknown, so the use it would show is not visible "
        f"(no image unused): ecr:GetRepositoryPolicy on arn:aws:ecr:{REGION}:{ACCOUNT}:repository/db "
        "failed with AccessDeniedException"
    ]


def test_a_vanished_repository_is_left_to_the_reader(stubbed: tuple[Any, ...]) -> None:
    ecr, ecr_stub = stubbed
    ecr_stub.add_client_error("get_repository_policy", "RepositoryNotFoundException")

    with pytest.raises(ClientError):
        RepositoryPolicies(ecr, LABEL).read(repository("web"))
