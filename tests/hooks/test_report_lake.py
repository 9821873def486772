"""The small S3 records beside the reports: JSON documents, listings and batch deletes, with Stubber."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.s3_reports import delete_keys, list_keys, read_json, write_json

BUCKET = "ecr-reports"


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_a_missing_document_is_none(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404)
    assert read_json(client, BUCKET, "p/_runs/x.json") is None


def test_a_document_reads_back_as_written(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    document = {"b": [1, 2], "a": "é"}
    expected = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
    stubber.add_response(
        "put_object",
        {},
        {"Bucket": BUCKET, "Key": "k.json", "Body": expected, "ContentType": "application/json"},
    )
    stubber.add_response("get_object", {"Body": body(expected)})

    write_json(client, BUCKET, "k.json", document)

    assert read_json(client, BUCKET, "k.json") == document


@pytest.mark.parametrize(
    ("data", "complaint"), [(b"{not json", "is not valid JSON"), (b"[1]", "holds list, not a JSON object")]
)
def test_a_corrupt_document_is_named(s3: tuple[Any, Stubber], data: bytes, complaint: str) -> None:
    client, stubber = s3
    stubber.add_response("get_object", {"Body": body(data)})
    with pytest.raises(ValueError, match=rf"^s3://{BUCKET}/k\.json {complaint}"):
        read_json(client, BUCKET, "k.json")


def test_denied_reads_and_writes_name_the_action_and_object(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stubber.add_client_error("get_object", "AccessDenied", "Access Denied", http_status_code=403)
    stubber.add_client_error("put_object", "AccessDenied", "Access Denied", http_status_code=403)
    with pytest.raises(AwsCallError, match=rf"^s3:GetObject on s3://{BUCKET}/k failed with AccessDenied"):
        read_json(client, BUCKET, "k")
    with pytest.raises(AwsCallError, match=rf"^s3:PutObject on s3://{BUCKET}/k failed with AccessDenied"):
        write_json(client, BUCKET, "k", {})


def test_list_keys_reads_every_page(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stubber.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": "p/a"}], "IsTruncated": True, "NextContinuationToken": "t"},
        {"Bucket": BUCKET, "Prefix": "p/"},
    )
    stubber.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": "p/b"}]},
        {"Bucket": BUCKET, "Prefix": "p/", "ContinuationToken": "t"},
    )
    assert list_keys(client, BUCKET, "p/") == ["p/a", "p/b"]


def test_delete_keys_deletes_each_key(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    for key in ("p/a.csv", "p/b.csv"):
        stubber.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": key})
    delete_keys(client, BUCKET, ["p/a.csv", "p/b.csv"])
    delete_keys(client, BUCKET, [])
    stubber.assert_no_pending_responses()


def test_a_refused_delete_fails_naming_the_iam_action_and_key(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stubber.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": "p/a.csv"})
    stubber.add_client_error("delete_object", "AccessDenied", "Access Denied", 403)
    with pytest.raises(
        AwsCallError,
        match=rf"^s3:DeleteObject on s3://{BUCKET}/p/b\.csv failed with AccessDenied: Access Denied$",
    ):
        delete_keys(client, BUCKET, ["p/a.csv", "p/b.csv"])
