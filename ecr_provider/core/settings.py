"""The run's settings (DAG params and CLI options), validated before any AWS call.

Each error names the offending value and what is allowed, so a typo in a trigger form is
caught in the first task, not halfway through a registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, get_args

from ecr_provider.core.targets import check_accounts, check_role_name
from ecr_provider.core.thresholds import ThresholdPolicy, non_negative_number
from ecr_provider.core.units import utc

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
GLUE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
MAX_CONCURRENCY_LIMIT = 64
DEFAULT_MAX_CONCURRENCY = 32
"""ECR publishes no request quota for the Describe calls; 32 readers keep a 20 ms round trip busy and
adaptive retries slow down when ECR throttles (benchmarks/extraction.py measures it)."""
AS_OF_CLOCK_SKEW = timedelta(minutes=5)
ReadManifests = Literal["if-excluded", "always", "never"]
READ_MANIFESTS: tuple[ReadManifests, ...] = get_args(ReadManifests)
DEFAULT_FINDINGS_MAX_AGE_DAYS = 30
MAX_FINDINGS_AGE_DAYS = 3650

DEFAULTS: dict[str, Any] = {
    "regions": ["us-east-1"],
    "accounts": [],
    "role_name": "",
    "discover_accounts": False,
    "report_bucket": "",
    "report_prefix": "ecr-reports",
    "athena_database": "ecr_reports",
    "storage_threshold_gb": 50,
    "repository_thresholds_gb": {},
    "sns_topic_arn": "",
    "aws_conn_id": "aws_default",
    "price_per_gb_month": None,
    "max_concurrency": DEFAULT_MAX_CONCURRENCY,
    "read_manifests": "if-excluded",
    "force_resend_notification": False,
    "include_findings": False,
    "findings_max_age_days": DEFAULT_FINDINGS_MAX_AGE_DAYS,
}


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


def check_price(price: object) -> Decimal | None:
    if price in (None, ""):
        return None
    value = non_negative_number(price, "price_per_gb_month", "USD per GB-month")
    if value == 0:
        raise ValueError(f"price_per_gb_month must be a positive USD amount, got {price!r}")
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


def check_findings_max_age_days(value: object) -> int:
    """The image_findings report lists images pushed or pulled within this many days."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FINDINGS_AGE_DAYS:
        raise ValueError(
            f"findings_max_age_days must be a whole number of days from 0 to {MAX_FINDINGS_AGE_DAYS}, "
            f"got {value!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class ReportSettings:
    regions: tuple[str, ...]
    accounts: tuple[str, ...]
    role_name: str
    discover_accounts: bool
    report_bucket: str
    report_prefix: str
    athena_database: str
    thresholds: ThresholdPolicy
    sns_topic_arn: str
    aws_conn_id: str | None
    price_per_gb_month: Decimal | None
    max_concurrency: int
    read_manifests: str
    force_resend_notification: bool
    include_findings: bool
    findings_max_age_days: int

    @classmethod
    def resolve(
        cls, configured: str, explicit: Mapping[str, Any], known_regions: Collection[str] = ()
    ) -> ReportSettings:
        """Defaults, then the deployment's JSON configuration (may be empty), then the run's own params."""
        try:
            parsed = json.loads(configured) if configured.strip() else {}
        except ValueError as error:
            raise ValueError(f"configured settings {configured!r} are not valid JSON: {error}") from None
        if not isinstance(parsed, Mapping):
            raise ValueError(f"configured settings must be a JSON object, got {configured!r}")
        return cls.from_mapping({**parsed, **explicit}, known_regions)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], known_regions: Collection[str] = ()) -> ReportSettings:
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; allowed: {sorted(DEFAULTS)}")
        merged = {**DEFAULTS, **values}
        conn_id = merged["aws_conn_id"]
        if conn_id is not None and not isinstance(conn_id, str):
            raise ValueError(f"aws_conn_id must be a connection id string, got {conn_id!r}")
        role_name = check_role_name(merged["role_name"])
        discover = check_flag(merged["discover_accounts"], "discover_accounts")
        if discover and not role_name:
            raise ValueError(
                "discover_accounts needs role_name: the role to assume in each discovered account"
            )
        return cls(
            regions=check_regions(merged["regions"], known_regions),
            accounts=check_accounts(merged["accounts"], role_name),
            role_name=role_name,
            discover_accounts=discover,
            report_bucket=check_bucket(merged["report_bucket"]),
            report_prefix=check_prefix(merged["report_prefix"]),
            athena_database=check_database(merged["athena_database"]),
            thresholds=ThresholdPolicy.from_params(
                merged["storage_threshold_gb"], merged["repository_thresholds_gb"]
            ),
            sns_topic_arn=check_topic_arn(merged["sns_topic_arn"]),
            aws_conn_id=conn_id or None,
            price_per_gb_month=check_price(merged["price_per_gb_month"]),
            max_concurrency=check_concurrency(merged["max_concurrency"]),
            read_manifests=check_read_manifests(merged["read_manifests"]),
            force_resend_notification=check_flag(
                merged["force_resend_notification"], "force_resend_notification"
            ),
            include_findings=check_flag(merged["include_findings"], "include_findings"),
            findings_max_age_days=check_findings_max_age_days(merged["findings_max_age_days"]),
        )

    def as_params(self) -> dict[str, Any]:
        """The normalised settings as JSON-safe values, for XCom and the next tasks' templates."""
        return {
            "regions": list(self.regions),
            "accounts": list(self.accounts),
            "role_name": self.role_name,
            "discover_accounts": self.discover_accounts,
            "report_bucket": self.report_bucket,
            "report_prefix": self.report_prefix,
            "athena_database": self.athena_database,
            "storage_threshold_gb": str(self.thresholds.global_gb),
            "repository_thresholds_gb": {p: str(gb) for p, gb in self.thresholds.overrides},
            "sns_topic_arn": self.sns_topic_arn,
            "aws_conn_id": self.aws_conn_id,
            "price_per_gb_month": None if self.price_per_gb_month is None else str(self.price_per_gb_month),
            "max_concurrency": self.max_concurrency,
            "read_manifests": self.read_manifests,
            "force_resend_notification": self.force_resend_notification,
            "include_findings": self.include_findings,
            "findings_max_age_days": self.findings_max_age_days,
        }


def check_as_of(value: object, now: datetime) -> datetime:
    """The report's as-of time: ISO-8601 text or a datetime, in UTC, not in the future."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"as-of time {value!r} is not ISO-8601 (e.g. 2026-11-27T00:00:00Z)") from None
    moment = utc(moment)
    if moment > utc(now) + AS_OF_CLOCK_SKEW:
        raise ValueError(f"as-of time {value!r} is in the future; reports describe the past")
    return moment
