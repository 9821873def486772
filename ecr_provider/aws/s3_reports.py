"""Reports in S3: read back a row at a time, and the small JSON records and listings kept beside them."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_provider.aws.errors import describe_failure, error_code
from ecr_provider.core.columns import REPOSITORIES_REPORT
from ecr_provider.core.layout import report_date_of, report_key, report_prefix
from ecr_provider.core.transform import PreviousReport


def read_report_rows(s3_client: Any, bucket: str, key: str) -> Iterator[dict[str, str]]:
    """Stream a canonical report CSV as dicts keyed by header, without loading the object whole."""
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
    except (ClientError, BotoCoreError) as error:
        raise describe_failure(error, "s3", f"s3://{bucket}/{key}") from error
    yield from _rows(body)


def _rows(body: Any) -> Iterator[dict[str, str]]:
    with body:
        yield from csv.DictReader(codecs.getreader("utf-8")(body))


def previous_report(
    s3_client: Any, bucket: str, prefix: str, *, report_date: str, account_id: str, region: str
) -> PreviousReport | None:
    """The newest earlier report of this registry, for the trend columns; None when there is none."""
    base = report_prefix(prefix, REPOSITORIES_REPORT)
    try:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base, Delimiter="/")
        dates = sorted(
            date
            for page in pages
            for common in page.get("CommonPrefixes", [])
            if (date := report_date_of(common["Prefix"])) is not None and date < report_date
        )
    except (ClientError, BotoCoreError) as error:
        raise describe_failure(error, "s3", f"s3://{bucket}/{base}") from error
    for date in reversed(dates):
        key = report_key(prefix, REPOSITORIES_REPORT, date, account_id, region)
        try:
            body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as error:
            if error_code(error) == "NoSuchKey":
                continue
            raise describe_failure(error, "s3", f"s3://{bucket}/{key}") from error
        rows = {
            row["repositoryName"]: (int(row["billableSizeBytes"]), Decimal(row["monthlyStorageCost(USD)"]))
            for row in _rows(body)
        }
        return PreviousReport(date, rows)
    return None


def read_json(s3_client: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """A JSON object written by :func:`write_json`; None when there is no such object."""
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as error:
        if error_code(error) == "NoSuchKey":
            return None
        raise describe_failure(error, "s3", f"s3://{bucket}/{key}") from error
    except BotoCoreError as error:
        raise describe_failure(error, "s3", f"s3://{bucket}/{key}") from error
    with body:
        try:
            document = json.load(body)
        except ValueError as error:
            raise ValueError(f"s3://{bucket}/{key} is not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise ValueError(f"s3://{bucket}/{key} holds {type(document).__name__}, not a JSON object")
    return document


def write_json(s3_client: Any, bucket: str, key: str, document: Mapping[str, Any]) -> None:
    """Sorted keys and a final newline: the same document is always the same bytes."""
    body = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
    try:
        s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as error:
        raise describe_failure(error, "s3", f"s3://{bucket}/{key}") from error


def list_keys(s3_client: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix``, in S3's (lexicographic) order."""
    try:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", ())]
    except (ClientError, BotoCoreError) as error:
        raise describe_failure(error, "s3", f"s3://{bucket}/{prefix}") from error


def delete_keys(s3_client: Any, bucket: str, keys: Sequence[str]) -> None:
    """One DeleteObject per key: a date's stale parts are few, and each delete is authorised (and a
    refusal reported) on its own object, where DeleteObjects would answer 200 and list refusals."""
    for key in keys:
        try:
            s3_client.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as error:
            raise describe_failure(error, "s3", f"s3://{bucket}/{key}") from error
