"""RegistryReader against botocore's Stubber (real ECR service model) and a concurrent fake client."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.hooks import HierarchicalEmitter
from botocore.stub import Stubber

from ecr_provider.aws.ecr import PAGE_SIZE, RegistryReader, SkippedRepository, ecr_client_config
from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.inspector import EnhancedScan, RegistryScans
from ecr_provider.core.records import Repository

ACCOUNT = "123456789012"
REGION = "us-east-1"
CREATED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
POLICY = (
    '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan",'
    '"countNumber":5},"action":{"type":"expire"}}]}'
)


def repository_arn(name: str) -> str:
    return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"


def repository_detail(name: str) -> dict[str, Any]:
    return {
        "repositoryArn": repository_arn(name),
        "registryId": ACCOUNT,
        "repositoryName": name,
        "repositoryUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
        "createdAt": CREATED,
        "imageTagMutability": "MUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfiguration": {"encryptionType": "AES256"},
    }


def repository(name: str) -> Repository:
    return Repository.from_api(repository_detail(name))


def image_detail(name: str, digest_char: str, pushed_day: int, status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "registryId": ACCOUNT,
        "repositoryName": name,
        "imageDigest": "sha256:" + digest_char * 64,
        "imageTags": [f"v{pushed_day}"],
        "imageSizeInBytes": 1000 * pushed_day,
        "imagePushedAt": datetime(2025, 3, pushed_day, tzinfo=UTC),
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "imageStatus": status,
    }


def images_params(name: str, next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "repositoryName": name,
        "registryId": ACCOUNT,
        "filter": {"imageStatus": "ANY"},
        "maxResults": PAGE_SIZE,
    }
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def policy_params(name: str) -> dict[str, Any]:
    return {"repositoryName": name, "registryId": ACCOUNT}


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber


def stub_images(stubber: Stubber, name: str, details: list[dict[str, Any]]) -> None:
    stubber.add_response("describe_images", {"imageDetails": details}, images_params(name))


def stub_policy(stubber: Stubber, name: str, text: str | None) -> None:
    if text is None:
        stubber.add_client_error(
            "get_lifecycle_policy",
            service_error_code="LifecyclePolicyNotFoundException",
            service_message="Lifecycle policy does not exist",
            http_status_code=400,
            expected_params=policy_params(name),
        )
    else:
        stubber.add_response(
            "get_lifecycle_policy",
            {"registryId": ACCOUNT, "repositoryName": name, "lifecyclePolicyText": text},
            policy_params(name),
        )


def test_repositories_reads_every_page_and_sorts_by_name(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    stubber.add_response(
        "describe_repositories",
        {"repositories": [repository_detail("zeta"), repository_detail("alpha")], "nextToken": "page-2"},
        {"maxResults": 1000},
    )
    stubber.add_response(
        "describe_repositories",
        {"repositories": [repository_detail("mid/service")]},
        {"maxResults": 1000, "nextToken": "page-2"},
    )

    found = RegistryReader(client, max_concurrency=1).repositories()

    assert [r.name for r in found] == ["alpha", "mid/service", "zeta"]
    alpha = found[0]
    assert alpha.arn == repository_arn("alpha")
    assert alpha.account_id == ACCOUNT
    assert alpha.region == REGION
    assert alpha.created_at == CREATED
    assert alpha.scan_on_push is True
    stubber.assert_no_pending_responses()


def test_images_of_all_pages_archived_included(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    first = [image_detail("app", "b", 5), image_detail("app", "a", 9)]
    second = [image_detail("app", "c", 1, status="ARCHIVED")]
    stubber.add_response("describe_images", {"imageDetails": first, "nextToken": "t1"}, images_params("app"))
    stubber.add_response("describe_images", {"imageDetails": second}, images_params("app", "t1"))
    stub_policy(stubber, "app", POLICY)

    snapshots = list(RegistryReader(client, max_concurrency=1).snapshots([repository("app")]))

    assert len(snapshots) == 1
    snapshot = snapshots[0]
    assert snapshot.repository.name == "app"
    assert {image.digest for image in snapshot.images} == {"sha256:" + c * 64 for c in "abc"}
    assert [image.status for image in snapshot.images].count("ARCHIVED") == 1
    assert snapshot.lifecycle_policy == POLICY
    stubber.assert_no_pending_responses()


def test_lifecycle_policy_present_and_absent(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    stub_images(stubber, "with-policy", [image_detail("with-policy", "a", 1)])
    stub_policy(stubber, "with-policy", POLICY)
    stub_images(stubber, "without-policy", [image_detail("without-policy", "b", 2)])
    stub_policy(stubber, "without-policy", None)

    reader = RegistryReader(client, max_concurrency=1)
    snapshots = list(reader.snapshots([repository("with-policy"), repository("without-policy")]))

    assert [(s.repository.name, s.lifecycle_policy) for s in snapshots] == [
        ("with-policy", POLICY),
        ("without-policy", None),
    ]
    assert reader.skipped == []
    stubber.assert_no_pending_responses()


def test_repository_deleted_mid_run_is_skipped_with_warning(
    ecr: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    client, stubber = ecr
    stub_images(stubber, "api", [image_detail("api", "a", 1)])
    stub_policy(stubber, "api", None)
    stubber.add_client_error(
        "describe_images",
        service_error_code="RepositoryNotFoundException",
        service_message="The repository with name 'gone' does not exist",
        http_status_code=400,
        expected_params=images_params("gone"),
    )
    stub_images(stubber, "web", [image_detail("web", "c", 3)])
    stub_policy(stubber, "web", POLICY)

    reader = RegistryReader(client, max_concurrency=1)
    with caplog.at_level(logging.WARNING, logger="ecr_provider.aws.ecr"):
        snapshots = list(reader.snapshots([repository("api"), repository("gone"), repository("web")]))

    assert [s.repository.name for s in snapshots] == ["api", "web"]
    assert reader.skipped == [SkippedRepository("gone", "RepositoryNotFoundException")]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "gone" in warnings[0].getMessage()
    stubber.assert_no_pending_responses()


def test_access_denied_names_action_resource_and_code(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    stubber.add_client_error(
        "describe_images",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: ecr:DescribeImages",
        http_status_code=400,
        expected_params=images_params("secret"),
    )

    reader = RegistryReader(client, max_concurrency=1)
    with pytest.raises(AwsCallError) as caught:
        list(reader.snapshots([repository("secret")]))

    message = str(caught.value)
    assert "ecr:DescribeImages" in message
    assert repository_arn("secret") in message
    assert "AccessDeniedException" in message
    assert isinstance(caught.value.__cause__, ClientError)
    assert reader.skipped == []
    stubber.assert_no_pending_responses()


def test_client_config_uses_standard_retries_unless_asked_and_a_large_enough_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    config = ecr_client_config(16)
    assert config.retries is not None
    assert config.retries["mode"] == "standard"
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    assert ecr_client_config(16).retries == {"mode": "adaptive", "max_attempts": 10}
    assert config.max_pool_connections is not None
    assert config.max_pool_connections >= 16


@pytest.mark.parametrize("bad", [0, 65, -1])
def test_reader_rejects_out_of_range_concurrency(bad: int) -> None:
    with pytest.raises(ValueError, match="max_concurrency") as caught:
        RegistryReader(object(), max_concurrency=bad)
    assert f"got {bad!r}" in str(caught.value)


class _CallTracker:
    """Counts calls in flight and remembers the most seen at once."""

    def __init__(self, delay: float) -> None:
        self._lock = threading.Lock()
        self._delay = delay
        self.active = 0
        self.max_active = 0
        self.calls: list[tuple[str, str]] = []

    def call(self, operation: str, repository_name: str) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.calls.append((operation, repository_name))
        try:
            time.sleep(self._delay)
        finally:
            with self._lock:
                self.active -= 1


class _FakePaginator:
    def __init__(self, client: _FakeEcrClient) -> None:
        self._client = client

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        name = kwargs["repositoryName"]
        assert kwargs["filter"] == {"imageStatus": "ANY"}
        assert kwargs["registryId"] == ACCOUNT
        self._client.tracker.call("DescribeImages", name)
        yield {"imageDetails": [image_detail(name, "a", 1), image_detail(name, "b", 2)]}


class _FakeEcrClient:
    def __init__(self, delay: float = 0.005) -> None:
        self.tracker = _CallTracker(delay)
        self.meta = SimpleNamespace(
            service_model=SimpleNamespace(service_name="ecr"), events=HierarchicalEmitter()
        )

    def get_paginator(self, operation: str) -> _FakePaginator:
        assert operation == "describe_images"
        return _FakePaginator(self)

    def get_lifecycle_policy(self, repositoryName: str, registryId: str) -> dict[str, Any]:
        self.tracker.call("GetLifecyclePolicy", repositoryName)
        if int(repositoryName.rsplit("-", 1)[1]) % 2:
            raise ClientError(
                {"Error": {"Code": "LifecyclePolicyNotFoundException", "Message": "none"}},
                "GetLifecyclePolicy",
            )
        return {"registryId": registryId, "repositoryName": repositoryName, "lifecyclePolicyText": POLICY}


def test_concurrent_reads_are_bounded_and_yielded_in_order() -> None:
    names = [f"repo-{i:02d}" for i in range(30)]
    fake = _FakeEcrClient()
    reader = RegistryReader(fake, max_concurrency=4)

    snapshots = list(reader.snapshots([repository(name) for name in names]))

    assert [s.repository.name for s in snapshots] == names
    assert all(len(s.images) == 2 for s in snapshots)
    assert [s.lifecycle_policy is None for s in snapshots] == [i % 2 == 1 for i in range(30)]
    described = sorted(name for op, name in fake.tracker.calls if op == "DescribeImages")
    assert described == names
    assert reader.skipped == []
    assert 1 < fake.tracker.max_active <= 4


def test_under_enhanced_scanning_images_carry_inspector_status_and_counts(ecr: tuple[Any, Stubber]) -> None:
    """DescribeImages has no findings summary then; without Inspector the report would show none."""
    client, stubber = ecr
    stub_images(stubber, "team/api", [image_detail("team/api", "a", 1), image_detail("team/api", "b", 2)])
    stubber.add_client_error("get_lifecycle_policy", "LifecyclePolicyNotFoundException", "none")
    scanned_at = datetime(2025, 3, 3, tzinfo=UTC)
    reader = RegistryReader(client, max_concurrency=1)
    reader.scans = RegistryScans(
        "ENHANCED",
        {
            ("team/api", "sha256:" + "a" * 64): EnhancedScan(
                "SUCCESSFUL", scanned_at, {"CRITICAL": 1, "HIGH": 4}
            )
        },
    )

    (snapshot,) = reader.snapshots([repository("team/api")])

    covered, uncovered = snapshot.images
    assert (covered.scan_status, covered.scan_completed_at) == ("SUCCESSFUL", scanned_at)
    assert covered.severity_counts == {"CRITICAL": 1, "HIGH": 4}
    assert (uncovered.scan_status, uncovered.severity_counts) == ("", None)
    stubber.assert_no_pending_responses()
