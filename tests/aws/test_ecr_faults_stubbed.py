"""Errors that reach the reader (retries exhausted, or never retryable), with botocore's Stubber.

Stubber answers before botocore's retry handler runs, so every stubbed error is what the reader
sees after retries: the table gives each its defined outcome, checked against the real ECR model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_provider.aws.ecr import RegistryReader, SkippedRepository
from ecr_provider.aws.errors import AwsCallError
from tests.aws.test_ecr_reader import (
    POLICY,
    REGION,
    image_detail,
    images_params,
    policy_params,
    repository,
    repository_arn,
    stub_images,
    stub_policy,
)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber


@dataclass(frozen=True)
class Case:
    operation: str
    code: str
    status: int
    outcome: str
    """``skipped``, or the exact start of the error message."""


CASES = [
    Case(
        "describe_images",
        "ThrottlingException",
        400,
        "ecr:DescribeImages on {arn} failed with ThrottlingException",
    ),
    Case(
        "describe_images", "ServerException", 500, "ecr:DescribeImages on {arn} failed with ServerException"
    ),
    Case(
        "describe_images",
        "AccessDeniedException",
        400,
        "ecr:DescribeImages on {arn} failed with AccessDenied",
    ),
    Case(
        "get_lifecycle_policy",
        "AccessDeniedException",
        400,
        "ecr:GetLifecyclePolicy on {arn} failed with Access",
    ),
    Case("describe_images", "RepositoryNotFoundException", 400, "skipped"),
    Case("get_lifecycle_policy", "RepositoryNotFoundException", 400, "skipped"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.operation}-{case.code}")
def test_an_error_on_one_repository_has_its_defined_outcome(case: Case, stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stub_images(stubber, "api", [image_detail("api", "a", 1)])
    stub_policy(stubber, "api", POLICY)
    if case.operation == "get_lifecycle_policy":
        stub_images(stubber, "db", [image_detail("db", "b", 2)])
    params = images_params("db") if case.operation == "describe_images" else policy_params("db")
    stubber.add_client_error(
        case.operation,
        service_error_code=case.code,
        service_message=f"injected {case.code}",
        http_status_code=case.status,
        expected_params=params,
    )
    reader = RegistryReader(client, max_concurrency=1)

    if case.outcome == "skipped":
        snapshots = list(reader.snapshots([repository("api"), repository("db")]))
        assert [snapshot.repository.name for snapshot in snapshots] == ["api"]
        assert reader.skipped == [SkippedRepository("db", case.code)]
    else:
        with pytest.raises(AwsCallError) as caught:
            list(reader.snapshots([repository("api"), repository("db")]))
        assert str(caught.value).startswith(case.outcome.format(arn=repository_arn("db"))), str(caught.value)
        assert str(caught.value).endswith(f"injected {case.code}")
    stubber.assert_no_pending_responses()


def test_listing_denied_names_the_action_and_code(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "describe_repositories",
        service_error_code="AccessDeniedException",
        service_message="injected AccessDeniedException",
        http_status_code=400,
        expected_params={"maxResults": 1000},
    )

    with pytest.raises(AwsCallError, match=r"^ecr:DescribeRepositories failed with AccessDeniedException"):
        RegistryReader(client, max_concurrency=1).repositories()
