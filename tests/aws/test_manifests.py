"""ManifestReader, the reporting principal and the pull-time exclusion check against Stubber,
which validates every request and response against the real ECR, STS and IAM service models."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.manifests import (
    InMemoryManifestCache,
    ManifestFailure,
    ManifestReader,
    is_excluded_from_pull_time_updates,
    plan_manifest_reads,
    reporting_principal_arn,
)
from ecr_provider.core.blobs import DOCKER_MANIFEST, OCI_INDEX, parse_manifest
from ecr_provider.core.records import Repository

ACCOUNT = "123456789012"
REGION = "eu-west-1"
REPOSITORY = Repository(
    name="team-a/api",
    arn=f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team-a/api",
    account_id=ACCOUNT,
    region=REGION,
    uri=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team-a/api",
    created_at=None,
    scan_on_push=True,
    tag_mutability="MUTABLE",
    encryption_type="AES256",
)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-report"
PATH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/platform/reporting/ecr-report"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ecr-report/airflow-worker-1"


def sha(data: str) -> str:
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def manifest(number: int) -> str:
    """A Docker image manifest whose layer is shared by every image and whose config is its own."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": sha(f"config {number}"),
                "size": 1_000 + number,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": sha("shared layer"),
                    "size": 50_000_000,
                }
            ],
        }
    )


def index(*children: str) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": DOCKER_MANIFEST, "digest": sha(child), "size": len(child)} for child in children
            ],
        }
    )


def image(text: str, media_type: str = DOCKER_MANIFEST) -> dict[str, Any]:
    return {
        "registryId": ACCOUNT,
        "repositoryName": REPOSITORY.name,
        "imageId": {"imageDigest": sha(text)},
        "imageManifest": text,
        "imageManifestMediaType": media_type,
    }


def batch_request(digests: list[str]) -> dict[str, Any]:
    return {
        "registryId": ACCOUNT,
        "repositoryName": REPOSITORY.name,
        "imageIds": [{"imageDigest": digest} for digest in digests],
        "acceptedMediaTypes": [
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "application/vnd.docker.distribution.manifest.v1+json",
        ],
    }


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ecr", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_uncached_digests_are_read_100_at_a_time_with_every_manifest_type(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    texts = [manifest(number) for number in range(250)]
    digests = [sha(text) for text in texts]
    for start, end in ((0, 100), (100, 200), (200, 250)):
        stubber.add_response(
            "batch_get_image",
            {"images": [image(text) for text in texts[start:end]], "failures": []},
            batch_request(digests[start:end]),
        )
    cache = InMemoryManifestCache()

    found = ManifestReader(client, cache).read(REPOSITORY, digests)

    assert found == {sha(text): parse_manifest(text) for text in texts}
    assert len(cache.load(REPOSITORY)) == 250
    # Every digest is now cached: a fresh reader on the same cache sends nothing (no stub is queued).
    assert ManifestReader(client, cache).read(REPOSITORY, digests) == found


def test_only_digests_missing_from_the_cache_are_requested(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    texts = [manifest(number) for number in range(120)]
    cache = InMemoryManifestCache()
    cache.save(REPOSITORY, {sha(text): parse_manifest(text) for text in texts[:115]})
    stubber.add_response(
        "batch_get_image",
        {"images": [image(text) for text in texts[115:]]},
        batch_request([sha(text) for text in texts[115:]]),
    )

    found = ManifestReader(client, cache).read(REPOSITORY, [sha(text) for text in texts])

    assert len(found) == 120


def test_index_children_missing_from_the_request_are_fetched_by_digest(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    amd64, arm64 = manifest(1), manifest(2)
    parent = index(amd64, arm64)
    stubber.add_response(
        "batch_get_image", {"images": [image(parent, OCI_INDEX)]}, batch_request([sha(parent)])
    )
    stubber.add_response(
        "batch_get_image",
        {"images": [image(amd64), image(arm64)]},
        batch_request([sha(amd64), sha(arm64)]),
    )

    found = ManifestReader(client, InMemoryManifestCache()).read(REPOSITORY, [sha(parent)])

    assert set(found) == {sha(parent), sha(amd64), sha(arm64)}


def test_failures_are_skipped_recorded_and_not_cached(
    ecr: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    client, stubber = ecr
    good, deleted, undecryptable, converted = (manifest(number) for number in range(4))
    digests = [sha(good), sha(deleted), sha(undecryptable), sha(converted)]
    stubber.add_response(
        "batch_get_image",
        {
            "images": [image(good), {**image(converted), "imageManifest": manifest(99)}],
            "failures": [
                {
                    "imageId": {"imageDigest": sha(deleted)},
                    "failureCode": "ImageNotFound",
                    "failureReason": "Requested image not found",
                },
                {
                    "imageId": {"imageDigest": sha(undecryptable)},
                    "failureCode": "KmsError",
                    "failureReason": "The KMS key is disabled",
                },
            ],
        },
        batch_request(digests),
    )
    cache = InMemoryManifestCache()
    reader = ManifestReader(client, cache)

    with caplog.at_level(logging.WARNING, logger="ecr_provider.aws.manifests"):
        found = reader.read(REPOSITORY, digests)

    assert set(found) == {sha(good)}
    assert set(cache.load(REPOSITORY)) == {sha(good)}
    assert reader.failures == [
        ManifestFailure(
            REPOSITORY.name, sha(converted), "DigestMismatch", "manifest does not hash to its digest"
        ),
        ManifestFailure(REPOSITORY.name, sha(deleted), "ImageNotFound", "Requested image not found"),
        ManifestFailure(REPOSITORY.name, sha(undecryptable), "KmsError", "The KMS key is disabled"),
    ]
    assert "3 manifests of team-a/api could not be read (DigestMismatch 1, ImageNotFound 1, KmsError 1)" in (
        caplog.text
    )


def test_a_repository_deleted_meanwhile_yields_what_the_cache_has(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    cached, uncached = manifest(1), manifest(2)
    cache = InMemoryManifestCache()
    cache.save(REPOSITORY, {sha(cached): parse_manifest(cached)})
    stubber.add_client_error(
        "batch_get_image",
        "RepositoryNotFoundException",
        "The repository does not exist",
        expected_params=batch_request([sha(uncached)]),
    )
    reader = ManifestReader(client, cache)

    assert set(reader.read(REPOSITORY, [sha(cached), sha(uncached)])) == {sha(cached)}
    assert [failure.code for failure in reader.failures] == ["RepositoryNotFoundException"]


def test_other_errors_name_the_action_and_repository(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    stubber.add_client_error("batch_get_image", "AccessDeniedException", "not authorized")

    with pytest.raises(
        AwsCallError, match=r"ecr:BatchGetImage on arn:aws:ecr:.*team-a/api failed with Access"
    ):
        ManifestReader(client, InMemoryManifestCache()).read(REPOSITORY, [sha(manifest(1))])


# -- principal -------------------------------------------------------------------------------------


def identity(arn: str) -> dict[str, str]:
    return {"UserId": "AROAEXAMPLEID:airflow-worker-1", "Account": ACCOUNT, "Arn": arn}


def test_reporting_principal_of_a_user_and_an_assumed_role() -> None:
    sts = boto3.client("sts", region_name=REGION)
    with Stubber(sts) as stubber:
        stubber.add_response("get_caller_identity", identity(f"arn:aws:iam::{ACCOUNT}:user/ops/alice"), {})
        stubber.add_response("get_caller_identity", identity(SESSION), {})
        assert reporting_principal_arn(sts) == f"arn:aws:iam::{ACCOUNT}:user/ops/alice"
        assert reporting_principal_arn(sts) == ROLE


def test_a_role_path_is_lost_in_the_session_arn_and_recovered_from_iam(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sts = boto3.client("sts", region_name=REGION)
    iam = boto3.client("iam", region_name="us-east-1")
    role = {
        "Path": "/platform/reporting/",
        "RoleName": "ecr-report",
        "RoleId": "AROAEXAMPLEID1234567",
        "Arn": PATH_ROLE,
        "CreateDate": "2025-01-01T00:00:00Z",
    }
    with Stubber(sts) as sts_stub, Stubber(iam) as iam_stub:
        for _ in range(3):
            sts_stub.add_response("get_caller_identity", identity(SESSION), {})
        iam_stub.add_response("get_role", {"Role": role}, {"RoleName": "ecr-report"})
        iam_stub.add_client_error(
            "get_role", "AccessDenied", "not authorized", 403, {"RoleName": "ecr-report"}
        )

        assert reporting_principal_arn(sts) == ROLE  # path-less: STS never shows the path
        assert reporting_principal_arn(sts, iam) == PATH_ROLE
        with caplog.at_level(logging.WARNING, logger="ecr_provider.aws.manifests"):
            assert reporting_principal_arn(sts, iam) == ROLE
        assert "iam:GetRole on ecr-report failed (AccessDenied)" in caplog.text


# -- exclusions ------------------------------------------------------------------------------------


def exclusions_stub(stubber: Stubber, *pages: list[str]) -> None:
    for number, page in enumerate(pages):
        response: dict[str, Any] = {"pullTimeUpdateExclusions": page}
        request: dict[str, Any] = {"maxResults": 1000}
        if number + 1 < len(pages):
            response["nextToken"] = f"token-{number + 1}"
        if number:
            request["nextToken"] = f"token-{number}"
        stubber.add_response("list_pull_time_update_exclusions", response, request)


def test_exclusion_found_on_a_later_page(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    others = [f"arn:aws:iam::{ACCOUNT}:role/scanner-{number}" for number in range(3)]
    exclusions_stub(stubber, others[:2], others[2:], [PATH_ROLE])
    assert is_excluded_from_pull_time_updates(client, PATH_ROLE)


def test_not_excluded_after_reading_every_page(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    exclusions_stub(stubber, [f"arn:aws:iam::{ACCOUNT}:role/scanner"], [PATH_ROLE])
    # The path-less ARN STS gives for that role matches no exclusion: the safe side.
    assert not is_excluded_from_pull_time_updates(client, ROLE)


def test_listing_errors_raise_naming_the_call(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    stubber.add_client_error("list_pull_time_update_exclusions", "ServerException", "boom", 500)
    with pytest.raises(AwsCallError, match="ListPullTimeUpdateExclusions failed with ServerException"):
        is_excluded_from_pull_time_updates(client, ROLE)


# -- the plan: an unanswered exclusion check degrades ------------------------------------------------


@pytest.fixture
def sts() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sts", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber


def plan(mode: Any, ecr_client: Any, sts_client: Any) -> ManifestReader | None:
    return plan_manifest_reads(
        mode,
        ecr_client=ecr_client,
        sts_client=sts_client,
        cache=InMemoryManifestCache(),
        region=REGION,
        registry=f"123456789012/{REGION}",
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


UNANSWERED = [
    ("AccessDeniedException", 400, "not authorized"),  # the optional policy file is not attached
    ("UnknownOperationException", 400, "unknown operation"),  # an endpoint or partition without the API
    ("InvalidAction", 404, "not implemented"),
    ("ServerException", 500, "boom"),  # what is left after botocore's retries
]


@pytest.mark.parametrize(("code", "status", "message"), UNANSWERED)
def test_an_unanswered_check_reports_image_sizes_with_one_warning_naming_the_call(
    ecr: tuple[Any, Stubber],
    sts: tuple[Any, Stubber],
    caplog: pytest.LogCaptureFixture,
    code: str,
    status: int,
    message: str,
) -> None:
    (ecr_client, ecr_stub), (sts_client, sts_stub) = ecr, sts
    sts_stub.add_response("get_caller_identity", identity(SESSION), {})
    ecr_stub.add_client_error("list_pull_time_update_exclusions", code, message, status)

    with caplog.at_level(logging.INFO, logger="ecr_provider.aws.manifests"):
        assert plan("if-excluded", ecr_client, sts_client) is None

    [warning] = warnings_of(caplog)
    assert f"ecr:ListPullTimeUpdateExclusions failed with {code}: {message}" in warning
    assert warning.startswith(f"Storage in {REGION} is reported from image sizes")
    assert f"whether {ROLE} is excluded from pull-time updates could not be checked" in warning


def test_read_manifests_always_reads_whatever_the_check_answers(
    ecr: tuple[Any, Stubber], sts: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    (ecr_client, ecr_stub), (sts_client, sts_stub) = ecr, sts
    sts_stub.add_response("get_caller_identity", identity(SESSION), {})
    ecr_stub.add_client_error("list_pull_time_update_exclusions", "ServerException", "boom", 500)

    with caplog.at_level(logging.INFO, logger="ecr_provider.aws.manifests"):
        reader = plan("always", ecr_client, sts_client)

    assert isinstance(reader, ManifestReader)
    assert reader.client is ecr_client
    [warning] = warnings_of(caplog)
    assert warning == (
        f"read_manifests=always: reading manifests as {ROLE}; whether it is excluded from pull-time "
        f"updates in {REGION} could not be checked (ecr:ListPullTimeUpdateExclusions failed with "
        "ServerException: boom), so images read for the first time may get a new lastRecordedPullTime"
    )


class Unreachable:
    """A client whose endpoint cannot be reached: botocore raises before any response."""

    def list_pull_time_update_exclusions(self, **_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://ecr.example.invalid/")


def test_an_unreachable_endpoint_degrades_too(
    sts: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    sts_client, sts_stub = sts
    sts_stub.add_response("get_caller_identity", identity(f"arn:aws:iam::{ACCOUNT}:user/ops/alice"), {})
    with caplog.at_level(logging.INFO, logger="ecr_provider.aws.manifests"):
        assert plan("if-excluded", Unreachable(), sts_client) is None
    [warning] = warnings_of(caplog)
    assert 'ecr call failed: Could not connect to the endpoint URL: "https://ecr.example.invalid/"' in warning


def test_an_unanswered_caller_identity_degrades_without_a_principal(
    ecr: tuple[Any, Stubber], sts: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    (ecr_client, _), (sts_client, sts_stub) = ecr, sts
    sts_stub.add_client_error("get_caller_identity", "AccessDenied", "denied", 403)
    with caplog.at_level(logging.INFO, logger="ecr_provider.aws.manifests"):
        assert plan("if-excluded", ecr_client, sts_client) is None
    [warning] = warnings_of(caplog)
    assert "whether the reporting principal is excluded" in warning
    assert "sts:GetCallerIdentity failed with AccessDenied: denied" in warning


def test_the_check_answered_gives_one_line_and_never_asks_under_never(
    ecr: tuple[Any, Stubber], sts: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    (ecr_client, ecr_stub), (sts_client, sts_stub) = ecr, sts
    sts_stub.add_response("get_caller_identity", identity(SESSION), {})
    exclusions_stub(ecr_stub, [ROLE])
    with caplog.at_level(logging.INFO, logger="ecr_provider.aws.manifests"):
        assert isinstance(plan("if-excluded", ecr_client, sts_client), ManifestReader)
        assert plan("never", ecr_client, sts_client) is None  # no stubbed call left: none is made
    assert warnings_of(caplog) == []
    assert [record.getMessage() for record in caplog.records] == [
        f"{ROLE} is excluded from pull-time updates in {REGION}: reading manifests",
        "read_manifests=never: storage is reported from image sizes",
    ]
