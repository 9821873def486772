"""Reading loaded reports back from S3, a row at a time."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_provider.aws.errors import describe_failure


def read_report_rows(s3_client: Any, bucket: str, key: str) -> Iterator[dict[str, str]]:
    """Stream a canonical report CSV as dicts keyed by header, without loading the object whole."""
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
    except (ClientError, BotoCoreError) as error:
        raise describe_failure(error, "s3", f"s3://{bucket}/{key}") from error
    with body:
        yield from csv.DictReader(codecs.getreader("utf-8")(body))
