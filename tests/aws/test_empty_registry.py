"""An empty registry costs one DescribeRepositories and the run's price: no other client is built and
nothing else is read, whatever the options ask for (findings, manifests, usage). The Stubber checks
the one call against botocore's model and fails on any call not queued."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_provider.aws.manifests import InMemoryManifestCache
from ecr_provider.aws.registry import RegistryClients, open_registry
from ecr_provider.core.columns import FINDINGS_REPORT, IMAGES_REPORT, REGISTRIES_REPORT, REPOSITORIES_REPORT
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.report_files import write_registry_report

ACCOUNT = "111122223333"
REGION = "eu-west-1"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
PLAN_PRICE = StoragePrices(Decimal("0.10"), Decimal("0.0114"), "pricing-api")


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "ecr", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "options",
    [
        RegistryOptions.parse(),
        RegistryOptions.parse(include_findings=True, read_manifests="always"),
    ],
    ids=["defaults", "findings-and-manifests"],
)
def test_an_empty_registry_reads_its_repositories_once_and_builds_no_other_client(
    ecr: tuple[Any, Stubber], options: RegistryOptions, tmp_path: Path
) -> None:
    client, stubber = ecr
    stubber.add_response("describe_repositories", {"repositories": []}, {"maxResults": 1000})
    built: list[str] = []
    asked: list[str] = []  # before the Stubber answers: a call it refused counts too
    client.meta.events.register("before-parameter-build.ecr", lambda model, **_: asked.append(model.name))

    def make_client(service: str) -> Any:
        built.append(service)
        assert service == "ecr", f"an empty registry built a {service} client"
        return client

    clients = RegistryClients.connect(make_client, REGION, ACCOUNT)
    opened = open_registry(
        clients,
        options,
        as_of=AS_OF,
        manifest_cache=InMemoryManifestCache(),
        pricing_client=lambda: pytest.fail("the plan priced the region"),
        price_cache={REGION: PLAN_PRICE},
    )
    report = write_registry_report([opened], tmp_path)

    assert built == ["ecr"]
    assert clients.built == ("ecr",)
    assert asked == ["DescribeRepositories"]
    assert opened.context.prices == PLAN_PRICE
    assert opened.context.usage.known  # no image, so none of it runs anywhere
    assert opened.context.blob_mounting == ""  # not read: it prices repositories it does not have
    assert (report.tally.repositories, report.tally.images) == (0, 0)
    expected = {REPOSITORIES_REPORT, IMAGES_REPORT, REGISTRIES_REPORT}
    if options.findings_max_age_days is not None:
        expected.add(FINDINGS_REPORT)
        assert report.findings == 0
    assert set(report.files) == expected


def test_the_account_of_a_registry_read_without_a_role_is_asked_once_and_only_when_needed() -> None:
    sts = boto3.client(
        "sts", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(sts) as stubber:
        stubber.add_response(
            "get_caller_identity",
            {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/reporter", "UserId": "AIDA"},
        )
        clients = RegistryClients.connect(lambda service: sts, REGION)
        before = clients.built

        assert (clients.account_id, clients.label) == (ACCOUNT, f"{ACCOUNT}/{REGION}")
        assert (before, clients.built) == ((), ("sts",))
        stubber.assert_no_pending_responses()
