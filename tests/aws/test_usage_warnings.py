"""ECS, Lambda or EKS denied in several accounts and regions of one usage task: one warning per cause, in
the words of an account and region (a source is not only a registry), the sources it covers named."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_provider.aws import usage as aws_usage
from ecr_provider.aws.usage import UsageReader
from ecr_provider.core.repeated_causes import grouped_warnings
from ecr_provider.core.usage import UnseenEks

SOURCES = [("111111111111", "eu-west-1"), ("222222222222", "us-east-1")]


def denied(stack: ExitStack, service: str, operation: str, region: str) -> Any:
    client = boto3.client(
        service, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = stack.enter_context(Stubber(client))
    stubber.add_client_error(operation, "AccessDeniedException", "denied", 400)
    return client


def answered(stack: ExitStack, service: str, operation: str, region: str, member: str) -> Any:
    """A source's ECS or Lambda with nothing running."""
    client = boto3.client(
        service, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stack.enter_context(Stubber(client)).add_response(operation, {member: []})
    return client


def denying(stack: ExitStack, region: str) -> Callable[[str], Any]:
    """A source whose ECS and Lambda listings are refused: EKS is not asked, as its use is unknown."""
    return {
        "ecs": denied(stack, "ecs", "list_clusters", region),
        "lambda": denied(stack, "lambda", "list_functions", region),
    }.__getitem__


def denying_eks(stack: ExitStack, region: str) -> Callable[[str], Any]:
    """A source whose ECS and Lambda answer, and whose EKS clusters may not be listed."""
    return {
        "ecs": answered(stack, "ecs", "list_clusters", region, "clusterArns"),
        "lambda": answered(stack, "lambda", "list_functions", region, "Functions"),
        "eks": denied(stack, "eks", "list_clusters", region),
    }.__getitem__


def test_a_denial_repeated_across_sources_is_one_warning_a_service(caplog: pytest.LogCaptureFixture) -> None:
    with ExitStack() as stack, caplog.at_level(logging.WARNING, logger=aws_usage.log.name):
        readers = [UsageReader(denying(stack, region), account, region, 2) for account, region in SOURCES]
        with grouped_warnings("accounts and regions of this task"):
            reads = [reader.read_source() for reader in readers]

    assert all(len(read.unknown) == 2 and read.unseen_eks == () for read in reads)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    ecs, lambda_ = warnings
    sources = "111111111111/eu-west-1, 222222222222/us-east-1"
    assert ecs.startswith(f"2 accounts and regions of this task ({sources}): ")
    assert "Account <account> in <region>: which images ECS runs is unknown" in ecs
    assert "Account <account> in <region>: which images Lambda runs is unknown" in lambda_


def test_a_refused_cluster_listing_leaves_use_known_and_the_source_unseen_warned_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ExitStack() as stack, caplog.at_level(logging.WARNING, logger=aws_usage.log.name):
        readers = [UsageReader(denying_eks(stack, region), account, region, 2) for account, region in SOURCES]
        with grouped_warnings("accounts and regions of this task"):
            reads = [reader.read_source() for reader in readers]

    assert [(read.unknown, read.sources) for read in reads] == [((), ("ECS", "Lambda"))] * 2
    assert [read.unseen_eks for read in reads] == [(UnseenEks(*source),) for source in SOURCES]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("2 accounts and regions of this task (")
    assert "Account <account> in <region>: its EKS clusters are unknown" in warnings[0]


def test_one_source_is_warned_about_in_its_own_words(caplog: pytest.LogCaptureFixture) -> None:
    account, region = SOURCES[0]
    with ExitStack() as stack, caplog.at_level(logging.WARNING, logger=aws_usage.log.name):
        UsageReader(denying(stack, region), account, region, 2).read_source()

    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        f"Account {account} in {region}"
    ] * 2
