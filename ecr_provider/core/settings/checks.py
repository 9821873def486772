"""The check of each setting's value: a typo in a trigger form is caught in the first task, not halfway
through a registry, and each error names the offending value and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any, Literal, get_args

from ecr_provider.core.thresholds import ThresholdPolicy, gigabytes, non_negative_number

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
GLUE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
KMS_KEY = re.compile(
    r"^(?:(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/)?(?:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
    r"|(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:)?alias/[A-Za-z0-9/_-]{1,250})$"
)
"""A KMS key id, alias (``alias/NAME``), key ARN or alias ARN, as S3's SSEKMSKeyId takes them."""
SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
MAX_CONCURRENCY_LIMIT = 64
DEFAULT_MAX_CONCURRENCY = 32
"""ECR publishes no request quota for the Describe calls; 32 readers keep a 20 ms round trip busy and
retries absorb ECR's throttling (benchmarks/extraction.py measures it)."""
ReadManifests = Literal["if-excluded", "always", "never"]
READ_MANIFESTS: tuple[ReadManifests, ...] = get_args(ReadManifests)
DEFAULT_FINDINGS_MAX_AGE_DAYS = 30
DEFAULT_REQUESTS_PER_SECOND = 0
"""No ceiling: a registry is read at full speed and paced only while AWS throttles it
(``aws/rate_limit.ThrottlePacing``); a ceiling is for accounts whose own traffic needs the capacity."""
MAX_REQUESTS_PER_SECOND = 1000
DEFAULT_BATCH_SIZE = 50
"""Registries per mapped report task: 8,500 registries (500 accounts x 17 regions) make 170 tasks."""
MAX_BATCH_SIZE = 10_000
MAX_FINDINGS_AGE_DAYS = 3650
MAX_PRICE_PER_GB_MONTH = 100
"""A thousand times ECR's list price (USD 0.10): a larger figure is a typo, and one large enough
overflows the report's money arithmetic."""
MAX_THRESHOLD_GB = 1_000_000
"""A petabyte: a threshold above it never fires, so it is a typo for a smaller one."""


def check_region(region: object, known: Collection[str] = ()) -> str:
    """Shape always; membership too when the caller knows the regions (botocore's list, via the aws layer)."""
    if not isinstance(region, str) or not REGION.match(region) or (known and region not in known):
        raise ValueError(
            f"region {region!r} is not an AWS region where ECR is available, such as 'us-east-1'"
        )
    return region


def check_regions(regions: object, known: Collection[str] = ()) -> tuple[str, ...]:
    if isinstance(regions, str) or not isinstance(regions, Sequence) or not regions:
        raise ValueError(f"regions must be a non-empty list of AWS region names, got {regions!r}")
    return tuple(dict.fromkeys(check_region(region, known) for region in regions))


def check_bucket(bucket: object) -> str:
    if not isinstance(bucket, str) or not BUCKET.match(bucket) or ".." in bucket or IP_ADDRESS.match(bucket):
        raise ValueError(
            f"report_bucket {bucket!r} is not a valid S3 bucket name "
            "(3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit)"
        )
    return bucket


def check_prefix(prefix: object) -> str:
    if not isinstance(prefix, str) or prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ValueError(f"report_prefix {prefix!r} must be a key prefix without leading or trailing '/'")
    return prefix


def check_report_url(url: object) -> tuple[str, str]:
    """``s3://bucket`` or ``s3://bucket/prefix``: the bucket and the key prefix of the reports."""
    if not isinstance(url, str) or not url.startswith("s3://"):
        raise ValueError(f"upload {url!r} is not an s3://bucket/prefix URL")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"upload {url!r} names no bucket (s3://bucket/prefix)")
    try:
        return check_bucket(bucket), check_prefix(prefix.removesuffix("/"))
    except ValueError as error:
        raise ValueError(f"upload {url!r}: {error}") from None


def check_database(name: object) -> str:
    if not isinstance(name, str) or not GLUE_NAME.match(name):
        raise ValueError(f"athena_database {name!r} must be lowercase letters, digits and '_'")
    return name


def check_topic_arn(arn: object) -> str:
    if arn in (None, ""):
        return ""
    if not isinstance(arn, str) or not SNS_TOPIC_ARN.match(arn):
        raise ValueError(f"sns_topic_arn {arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
    return arn


def check_kms_key_id(key_id: object) -> str:
    """Empty: the bucket's default encryption."""
    if key_id in (None, ""):
        return ""
    if not isinstance(key_id, str) or not KMS_KEY.match(key_id):
        raise ValueError(
            f"report_kms_key_id {key_id!r} is not a KMS key id, key ARN, alias (alias/NAME) or alias ARN"
        )
    return key_id


def check_price(price: object) -> Decimal | None:
    if price in (None, ""):
        return None
    value = non_negative_number(price, "price_per_gb_month", "USD per GB-month")
    if not 0 < value <= MAX_PRICE_PER_GB_MONTH:
        raise ValueError(
            f"price_per_gb_month must be a positive USD amount of at most {MAX_PRICE_PER_GB_MONTH} "
            f"per GB-month, got {price!r}"
        )
    return value


def check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def check_read_manifests(mode: object) -> ReadManifests:
    """Reading a manifest counts as a pull in ECR, so reading them is a choice with a side effect."""
    for known in READ_MANIFESTS:
        if mode == known:
            return known
    raise ValueError(
        f"read_manifests {mode!r} is not one of {', '.join(READ_MANIFESTS)} "
        "('always' accepts that every image read gets a new lastRecordedPullTime)"
    )


def whole_number(value: object) -> object:
    """A templated field renders to text: digits become an int, anything else is left for the check."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def check_concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY_LIMIT:
        raise ValueError(
            f"max_concurrency must be a whole number from 1 to {MAX_CONCURRENCY_LIMIT}, got {value!r}"
        )
    return value


def check_request_rate(value: object) -> float | None:
    """Requests per second to one registry; 0 or empty: no ceiling."""
    if value in (None, "", 0, "0"):
        return None
    try:
        rate = float(str(value)) if not isinstance(value, bool) else -1.0
    except ValueError:
        rate = -1.0
    if not 0 < rate <= MAX_REQUESTS_PER_SECOND:
        raise ValueError(
            f"max_requests_per_second must be a number of requests from 0 (no ceiling) to "
            f"{MAX_REQUESTS_PER_SECOND}, got {value!r}"
        )
    return rate


def check_batch_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH_SIZE:
        raise ValueError(
            f"batch_size must be a whole number of registries from 1 to {MAX_BATCH_SIZE}, got {value!r}"
        )
    return value


def check_findings_max_age_days(value: object) -> int:
    """The image_findings report lists images pushed or pulled within this many days."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FINDINGS_AGE_DAYS:
        raise ValueError(
            f"findings_max_age_days must be a whole number of days from 0 to {MAX_FINDINGS_AGE_DAYS}, "
            f"got {value!r}"
        )
    return value


def check_conn_id(conn_id: object) -> str | None:
    """Empty means no Airflow connection: boto3's own credential chain."""
    if conn_id is not None and not isinstance(conn_id, str):
        raise ValueError(f"aws_conn_id must be a connection id string, got {conn_id!r}")
    return conn_id or None


def _at_most_max_threshold(gb: Decimal, name: str, value: object) -> Decimal:
    if gb > MAX_THRESHOLD_GB:
        raise ValueError(f"{name} must be at most {MAX_THRESHOLD_GB} GB, got {value!r}")
    return gb


def check_storage_threshold(value: object) -> Decimal:
    return _at_most_max_threshold(gigabytes(value, "storage_threshold_gb"), "storage_threshold_gb", value)


def check_repository_thresholds(overrides: Any) -> tuple[tuple[str, Decimal], ...]:
    """The policy parses its own overrides; the global threshold is a setting of its own."""
    parsed = ThresholdPolicy.from_params(0, overrides).overrides
    for (pattern, gb), value in zip(parsed, (overrides or {}).values(), strict=True):
        _at_most_max_threshold(gb, f"repository_thresholds_gb[{pattern!r}]", value)
    return parsed
