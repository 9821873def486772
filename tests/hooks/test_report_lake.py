"""ReportLakeHook's reads, writes, listings and deletes, with Stubber on the hook's own S3 client."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.core.columns import REPOSITORIES_REPORT
from ecr_provider.core.layout import cache_prefix, report_key, report_prefix, run_manifest_key
from ecr_provider.core.transform import PreviousReport
from ecr_provider.hooks.report_lake import ReportLakeHook
from tests.aws.test_manifests import REPOSITORY

BUCKET = "ecr-reports"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
MODIFIED = datetime(2026, 11, 20, tzinfo=UTC)
HEADER = "repositoryName,billableSizeBytes,monthlyStorageCost(USD)\r\n"


@pytest.fixture
def lake() -> Iterator[tuple[ReportLakeHook, Stubber]]:
    hook = ReportLakeHook(aws_conn_id=None, region_name="us-east-1")
    with Stubber(hook.conn) as stubber:
        yield hook, stubber
        stubber.assert_no_pending_responses()


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def registry_report(date: str, generation: str | None) -> str:
    return report_key("p", REPOSITORIES_REPORT, date, ACCOUNT, REGION, generation=generation)


def test_a_missing_document_is_none(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404)
    assert hook.read_json(BUCKET, "p/_runs/x.json") is None


def test_a_document_reads_back_as_written(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    document = {"b": [1, 2], "a": "é"}
    expected = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
    written: list[tuple[str, str, bytes]] = []
    hook.conn.meta.events.register(
        "before-parameter-build.s3.PutObject",
        lambda params, **_: written.append((params["Bucket"], params["Key"], params["Body"].read())),
    )
    stubber.add_response("put_object", {})
    stubber.add_response("get_object", {"Body": body(expected)}, {"Bucket": BUCKET, "Key": "k.json"})

    hook.write_json(BUCKET, "k.json", document)

    assert written == [(BUCKET, "k.json", expected)]
    assert hook.read_json(BUCKET, "k.json") == document


def test_a_claim_is_a_conditional_write_that_only_its_writer_wins(
    lake: tuple[ReportLakeHook, Stubber],
) -> None:
    hook, stubber = lake
    mine, theirs = {"token": "mine"}, {"token": "theirs"}
    encoded = (json.dumps(mine, indent=2, sort_keys=True) + "\n").encode()
    conditional = {"Bucket": BUCKET, "Key": "c.json", "Body": encoded, "IfNoneMatch": "*"}
    stubber.add_response("put_object", {}, conditional)
    stubber.add_client_error("put_object", "PreconditionFailed", http_status_code=412)
    stubber.add_response("get_object", {"Body": body(json.dumps(theirs).encode())})
    stubber.add_client_error("put_object", "PreconditionFailed", http_status_code=412)
    stubber.add_response("get_object", {"Body": body(encoded)})  # a retried request whose first one landed
    stubber.add_client_error("put_object", "AccessDenied", http_status_code=403)

    assert hook.claim(BUCKET, "c.json", mine)
    assert not hook.claim(BUCKET, "c.json", mine)
    assert hook.claim(BUCKET, "c.json", mine)
    with pytest.raises(
        AwsCallError, match=rf"^s3:PutObject on s3://{BUCKET}/c\.json failed with AccessDenied"
    ):
        hook.claim(BUCKET, "c.json", mine)


@pytest.mark.parametrize(
    ("data", "complaint"), [(b"{not json", "is not valid JSON"), (b"[1]", "holds list, not a JSON object")]
)
def test_a_corrupt_document_is_named(
    lake: tuple[ReportLakeHook, Stubber], data: bytes, complaint: str
) -> None:
    hook, stubber = lake
    stubber.add_response("get_object", {"Body": body(data)})
    with pytest.raises(ValueError, match=rf"^s3://{BUCKET}/k\.json {complaint}"):
        hook.read_json(BUCKET, "k.json")


def test_denied_reads_and_writes_name_the_action_and_object(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    stubber.add_client_error("get_object", "AccessDenied", "Access Denied", http_status_code=403)
    stubber.add_client_error("put_object", "AccessDenied", "Access Denied", http_status_code=403)
    with pytest.raises(AwsCallError, match=rf"^s3:GetObject on s3://{BUCKET}/k failed with AccessDenied"):
        hook.read_json(BUCKET, "k")
    with pytest.raises(AwsCallError, match=rf"^s3:PutObject on s3://{BUCKET}/k failed with AccessDenied"):
        hook.write_json(BUCKET, "k", {})


def test_keys_under_a_prefix_are_read_from_every_page(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    listing = {"Bucket": BUCKET, "Prefix": "p/", "Delimiter": "", "StartAfter": ""}
    stubber.add_response(
        "list_objects_v2",
        {
            "Contents": [{"Key": "p/a", "LastModified": MODIFIED}],
            "IsTruncated": True,
            "NextContinuationToken": "t",
        },
        listing,
    )
    stubber.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": "p/b", "LastModified": MODIFIED}]},
        {**listing, "ContinuationToken": "t"},
    )
    stubber.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)

    assert hook.keys_under(BUCKET, "p/") == ["p/a", "p/b"]
    with pytest.raises(AwsCallError, match=rf"^s3:ListBucket on s3://{BUCKET}/q/ failed with AccessDenied"):
        hook.keys_under(BUCKET, "q/")


def test_delete_keys_deletes_each_key(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    for key in ("p/a.csv", "p/b.csv"):
        stubber.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": key})
    hook.delete_keys(BUCKET, ["p/a.csv", "p/b.csv"])
    hook.delete_keys(BUCKET, [])
    stubber.assert_no_pending_responses()


def test_a_refused_delete_fails_naming_the_iam_action_and_key(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    stubber.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": "p/a.csv"})
    stubber.add_client_error("delete_object", "AccessDenied", "Access Denied", 403)
    with pytest.raises(
        AwsCallError,
        match=rf"^s3:DeleteObject on s3://{BUCKET}/p/b\.csv failed with AccessDenied: Access Denied$",
    ):
        hook.delete_keys(BUCKET, ["p/a.csv", "p/b.csv"])


def test_report_rows_are_streamed_by_header(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    csv = f"{HEADER}team/api,1073741824,0.10\r\nteam/db,0,0.00\r\n".encode()
    stubber.add_response("get_object", {"Body": body(csv)}, {"Bucket": BUCKET, "Key": "r.csv"})
    stubber.add_client_error("get_object", "NoSuchKey", "The specified key does not exist.", 404)

    assert list(hook.read_report_rows(BUCKET, "r.csv")) == [
        {"repositoryName": "team/api", "billableSizeBytes": "1073741824", "monthlyStorageCost(USD)": "0.10"},
        {"repositoryName": "team/db", "billableSizeBytes": "0", "monthlyStorageCost(USD)": "0.00"},
    ]
    with pytest.raises(
        AwsCallError, match=rf"^s3:GetObject on s3://{BUCKET}/gone\.csv failed with NoSuchKey"
    ):
        list(hook.read_report_rows(BUCKET, "gone.csv"))


def test_the_previous_report_is_the_newest_earlier_one_of_this_registry(
    lake: tuple[ReportLakeHook, Stubber],
) -> None:
    hook, stubber = lake
    partitions = [
        {"Prefix": f"{report_prefix('p', REPOSITORIES_REPORT)}report_date={date}/"}
        for date in ("2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21")
    ]
    stubber.add_response(
        "list_objects_v2",
        {"CommonPrefixes": partitions},
        {"Bucket": BUCKET, "Prefix": report_prefix("p", REPOSITORIES_REPORT), "Delimiter": "/"},
    )
    # The 19th, at the generation its manifest makes visible, has no report of this registry (it
    # failed there): the 18th, written before generations, is the previous one.
    generation = "20261119T010203Z-0a1b2c3d"
    manifests = {
        "2026-11-19": {"complete": False, "generation": generation},
        "2026-11-18": {"complete": True},
    }

    def read_manifest(date: str) -> None:
        stubber.add_response(
            "get_object",
            {"Body": body(json.dumps(manifests[date]).encode())},
            {"Bucket": BUCKET, "Key": run_manifest_key("p", date)},
        )

    read_manifest("2026-11-19")
    stubber.add_client_error(
        "get_object",
        "NoSuchKey",
        http_status_code=404,
        expected_params={"Bucket": BUCKET, "Key": registry_report("2026-11-19", generation)},
    )
    read_manifest("2026-11-18")
    stubber.add_response(
        "get_object",
        {"Body": body(f"{HEADER}team/api,1073741824,0.10\r\n".encode())},
        {"Bucket": BUCKET, "Key": registry_report("2026-11-18", None)},
    )

    previous = hook.previous_report(BUCKET, "p", report_date="2026-11-20", account_id=ACCOUNT, region=REGION)

    assert previous == PreviousReport("2026-11-18", {"team/api": (1073741824, Decimal("0.10"))})
    # Another registry of the batch: the dates are not listed again, only the manifest and its object.
    read_manifest("2026-11-19")
    other_key = report_key(
        "p", REPOSITORIES_REPORT, "2026-11-19", "999999999999", REGION, generation=generation
    )
    stubber.add_response(
        "get_object",
        {"Body": body(f"{HEADER}team/db,2147483648,0.20\r\n".encode())},
        {"Bucket": BUCKET, "Key": other_key},
    )
    other = hook.previous_report(
        BUCKET, "p", report_date="2026-11-20", account_id="999999999999", region=REGION
    )
    assert other == PreviousReport("2026-11-19", {"team/db": (2147483648, Decimal("0.20"))})
    stubber.assert_no_pending_responses()


def test_no_earlier_report_means_none(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    today = f"{report_prefix('p', REPOSITORIES_REPORT)}report_date=2026-11-20/"
    stubber.add_response("list_objects_v2", {"CommonPrefixes": [{"Prefix": today}]})
    assert (
        hook.previous_report(BUCKET, "p", report_date="2026-11-20", account_id=ACCOUNT, region=REGION) is None
    )


def test_cache_layout_keeps_nested_repositories_apart() -> None:
    registry = f"{REPOSITORY.account_id}/{REPOSITORY.region}"
    team = replace(REPOSITORY, name="team-a")
    assert REPOSITORY.name == "team-a/api"
    assert cache_prefix("ecr-reports", REPOSITORY) == (
        f"ecr-reports/_manifest_cache/v1/{registry}/team-a/api/_segments/"
    )
    assert not cache_prefix("ecr-reports", REPOSITORY).startswith(cache_prefix("ecr-reports", team))
    assert cache_prefix("", team) == f"_manifest_cache/v1/{registry}/team-a/_segments/"


# -- SSE-KMS ---------------------------------------------------------------------------------------

KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def kms_lake() -> Iterator[tuple[ReportLakeHook, Stubber, list[dict[str, object]]]]:
    """A hook writing under ``KMS_KEY``, and the PutObject parameters it sends."""
    hook = ReportLakeHook(aws_conn_id=None, region_name="us-east-1", report_kms_key_id=KMS_KEY)
    sent: list[dict[str, object]] = []
    hook.conn.meta.events.register(
        "before-parameter-build.s3.PutObject",
        lambda params, **_: sent.append({k: v for k, v in params.items() if k != "Body"}),
    )
    with Stubber(hook.conn) as stubber:
        yield hook, stubber, sent
        stubber.assert_no_pending_responses()


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A report CSV on disk, as the report task uploads it."""
    path = tmp_path / "report.csv"
    path.write_bytes(b"repositoryName\r\n")
    return path


def test_every_write_is_sse_kms_under_the_key(
    kms_lake: tuple[ReportLakeHook, Stubber, list[dict[str, object]]], report: Path
) -> None:
    hook, stubber, sent = kms_lake
    for _ in range(3):
        stubber.add_response("put_object", {})

    hook.write_json(BUCKET, "p/_runs/manifest.json", {})
    hook.write_bytes(BUCKET, "p/_manifest_cache/v1/segment.jsonl", b"{}\n")
    hook.write_file(BUCKET, "p/report.csv", report)

    assert [(params["Key"], params["ServerSideEncryption"], params["SSEKMSKeyId"]) for params in sent] == [
        ("p/_runs/manifest.json", "aws:kms", KMS_KEY),
        ("p/_manifest_cache/v1/segment.jsonl", "aws:kms", KMS_KEY),
        ("p/report.csv", "aws:kms", KMS_KEY),
    ]


def test_without_a_key_writes_carry_no_encryption_arguments(lake: tuple[ReportLakeHook, Stubber]) -> None:
    hook, stubber = lake
    sent: list[set[str]] = []
    hook.conn.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: sent.append(set(params))
    )
    stubber.add_response("put_object", {})
    hook.write_json(BUCKET, "k.json", {})
    assert [keys & {"ServerSideEncryption", "SSEKMSKeyId"} for keys in sent] == [set()]


@pytest.mark.parametrize(
    ("code", "message", "refused"),
    [
        (
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/airflow is not authorized to perform: "
            f"kms:GenerateDataKey on resource: {KMS_KEY}",
            "was refused",
        ),
        ("KMS.NotFoundException", "Invalid keyId", "was refused"),
        ("AccessDenied", "Access Denied", "or s3:PutObject was refused (S3 answers both as AccessDenied)"),
    ],
)
def test_a_refused_write_under_the_key_names_kms_generate_data_key_and_the_key(
    kms_lake: tuple[ReportLakeHook, Stubber, list[dict[str, object]]], code: str, message: str, refused: str
) -> None:
    hook, stubber, _ = kms_lake
    stubber.add_client_error("put_object", code, message, http_status_code=403)

    with pytest.raises(AwsCallError) as caught:
        hook.write_json(BUCKET, "p/_runs/manifest.json", {})

    assert str(caught.value).startswith(
        f"kms:GenerateDataKey on {KMS_KEY} for s3://{BUCKET}/p/_runs/manifest.json {refused}: allow the "
        "writer kms:GenerateDataKey on the key, in its IAM policy (iam/optional/report-kms-key.json) and in "
        f"the key policy. s3:PutObject on s3://{BUCKET}/p/_runs/manifest.json failed with {code}"
    )


def test_other_write_failures_under_the_key_are_left_as_they_are(
    kms_lake: tuple[ReportLakeHook, Stubber, list[dict[str, object]]],
) -> None:
    hook, stubber, _ = kms_lake
    stubber.add_client_error("put_object", "NoSuchBucket", "gone", http_status_code=404)
    with pytest.raises(AwsCallError, match=rf"^s3:PutObject on s3://{BUCKET}/k failed with NoSuchBucket"):
        hook.write_json(BUCKET, "k", {})


def test_a_malformed_key_is_refused_when_the_hook_is_made() -> None:
    with pytest.raises(ValueError, match="report_kms_key_id 'key/abc' is not a KMS key id"):
        ReportLakeHook(aws_conn_id=None, report_kms_key_id="key/abc")


def test_a_file_refused_by_kms_names_the_key_through_the_managed_upload(
    kms_lake: tuple[ReportLakeHook, Stubber, list[dict[str, object]]], report: Path
) -> None:
    """upload_file hides the ClientError in an S3UploadFailedError whose text holds the code."""
    hook, stubber, _ = kms_lake
    stubber.add_client_error("put_object", "KMS.DisabledException", "key is disabled", http_status_code=400)

    with pytest.raises(AwsCallError) as caught:
        hook.write_file(BUCKET, "p/report.csv", report)

    assert str(caught.value).startswith(
        f"kms:GenerateDataKey on {KMS_KEY} for s3://{BUCKET}/p/report.csv was"
    )
    assert "KMS.DisabledException" in str(caught.value)
