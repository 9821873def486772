"""Reading loaded reports back from S3, a row at a time."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
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
