"""Timestamps parsed in UTC by a real client: the same instants botocore's default parser gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from ecr_provider.aws.ecr import epoch_timestamp, parse_epochs_in_utc

PUSHED = 1_780_000_000.5
"""2026-05-28 20:26:40.5 UTC"""


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self._content


def _answering(client: Any, body: dict[str, Any]) -> None:
    """Answer every call with ``body`` as ECR's JSON, so the client's own parser reads it."""
    content = json.dumps(body).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "Content-Length": str(len(content))}

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, headers, _Body(content))

    client.meta.events.register("before-send.ecr", answer)


def _client() -> Any:
    return boto3.client(
        "ecr", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def test_epochs_are_utc_and_text_is_parsed_as_botocore_does() -> None:
    assert epoch_timestamp(PUSHED) == datetime(2026, 5, 28, 20, 26, 40, 500_000, tzinfo=UTC)
    assert epoch_timestamp(PUSHED).tzinfo is UTC
    assert epoch_timestamp(0) == datetime(1970, 1, 1, tzinfo=UTC)
    parsed = epoch_timestamp("2026-05-28T22:26:40+02:00")
    assert parsed == datetime(2026, 5, 28, 20, 26, 40, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=2)


def test_a_client_given_the_parser_reads_the_same_instants_in_utc() -> None:
    body = {
        "imageDetails": [
            {
                "repositoryName": "team/api",
                "imageDigest": "sha256:" + "a" * 64,
                "imagePushedAt": PUSHED,
                "lastRecordedPullTime": 1_780_086_400,
            }
        ]
    }
    default, fast = _client(), _client()
    parse_epochs_in_utc(fast)
    for client in (default, fast):
        _answering(client, body)
    before = default.describe_images(repositoryName="team/api")["imageDetails"][0]
    after = fast.describe_images(repositoryName="team/api")["imageDetails"][0]
    for member in ("imagePushedAt", "lastRecordedPullTime"):
        assert after[member] == before[member]
        assert after[member].tzinfo is UTC
        assert before[member].tzinfo is not UTC
    assert after["imagePushedAt"] == datetime(2026, 5, 28, 20, 26, 40, 500_000, tzinfo=UTC)
