"""The run's settings (DAG params and CLI options), validated before any AWS call.

Each error names the offending value and what is allowed, so a typo in a trigger form is
caught in the first task, not halfway through a registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Literal, TypedDict, cast, get_args

from ecr_provider.core.cleanup import (
    DEFAULT_RECLAIM_AFTER_DAYS,
    MAX_RECLAIM_AFTER_DAYS,
    check_protected_tag_patterns,
    check_reclaim_after_days,
)
from ecr_provider.core.targets import check_accounts, check_role_name
from ecr_provider.core.thresholds import ThresholdPolicy, gigabytes, non_negative_number
from ecr_provider.core.units import utc

REPORT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
AS_OF_CLOCK_SKEW = timedelta(minutes=5)
ReadManifests = Literal["if-excluded", "always", "never"]
READ_MANIFESTS: tuple[ReadManifests, ...] = get_args(ReadManifests)
DEFAULT_FINDINGS_MAX_AGE_DAYS = 30
DEFAULT_REQUESTS_PER_SECOND = 50.0
"""Per registry: ECR publishes no quota for its Describe calls; 50 a second is a small share of what an
account's registry answers, and keeps a 32-thread reader at full speed on a registry of small repositories."""
MAX_REQUESTS_PER_SECOND = 1000
DEFAULT_BATCH_SIZE = 50
"""Registries per mapped report task: 8,500 registries (500 accounts x 17 regions) make 170 tasks."""
MAX_BATCH_SIZE = 10_000
MAX_FINDINGS_AGE_DAYS = 3650


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


def check_storage_threshold(value: object) -> Decimal:
    return gigabytes(value, "storage_threshold_gb")


def check_repository_thresholds(overrides: Any) -> tuple[tuple[str, Decimal], ...]:
    """The policy parses its own overrides; the global threshold is a setting of its own."""
    return ThresholdPolicy.from_params(0, overrides).overrides


def _as_is(value: object) -> object:
    return value


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _gb_texts(overrides: tuple[tuple[str, Decimal], ...]) -> dict[str, str]:
    return {pattern: str(gb) for pattern, gb in overrides}


@dataclass(frozen=True, slots=True)
class Setting:
    """One DAG param and configuration key: its default, check, XCom form and trigger-form schema.

    ``check`` turns a raw value into the ``ReportSettings`` field of the same name; None means it
    depends on another setting or on the caller, so ``ReportSettings.from_mapping`` checks it.
    """

    name: str
    default: Any
    check: Callable[[Any], Any] | None
    schema: Mapping[str, Any]
    description: str
    to_xcom: Callable[[Any], Any] = _as_is

    @property
    def form_schema(self) -> dict[str, Any]:
        """The trigger form's schema admits null: a field left empty takes the configured value."""
        schema = dict(self.schema)
        if "enum" in schema:
            # A select whose null option would show as "null": a text field with the choices offered
            # instead; resolve_settings refuses anything else, naming what is allowed.
            schema = {"type": ["null", "string"], "examples": list(schema.pop("enum"))}
        else:
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            schema["type"] = ["null", *(kind for kind in kinds if kind != "null")]
        return schema

    @property
    def form_description(self) -> str:
        return f"{self.description} Empty: the value in {CONFIG_VARIABLE}, else {json.dumps(self.default)}."


def _unset(values: Mapping[str, Any]) -> dict[str, Any]:
    """A null (a form field left empty) takes the value from further down: configured, else built in."""
    return {name: value for name, value in values.items() if value is not None}


def _text(name: str, default: str, check: Callable[[Any], Any], description: str) -> Setting:
    return Setting(name, default, check=check, schema={"type": "string"}, description=description)


def _flag(name: str, description: str) -> Setting:
    return Setting(
        name, False, check=partial(check_flag, name=name), schema={"type": "boolean"}, description=description
    )


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "regions",
        ["us-east-1"],
        check=None,
        schema={"type": "array", "items": {"type": "string"}, "minItems": 1},
        description="AWS regions to report; every account is read in every region.",
        to_xcom=list,
    ),
    Setting(
        "accounts",
        [],
        check=None,
        schema={"type": "array", "items": {"type": "string"}},
        description="Role ARNs or 12-digit account ids (completed by role_name); "
        "none at all: the connection's own account.",
        to_xcom=list,
    ),
    _text(
        "role_name",
        "",
        check_role_name,
        "IAM role to assume in accounts given by id or discovered; empty: accounts must be role ARNs.",
    ),
    _flag("discover_accounts", "Also report the Organization's active accounts, assuming role_name in each."),
    _text("report_bucket", "", check_bucket, "S3 bucket the reports are written to (required)."),
    _text(
        "report_prefix",
        "ecr-reports",
        check_prefix,
        "Key prefix of the reports, without leading or trailing '/'; empty: the bucket's root.",
    ),
    _text(
        "athena_database",
        "ecr_reports",
        check_database,
        "Glue database the report tables and their partitions are registered in.",
    ),
    Setting(
        "storage_threshold_gb",
        50,
        check=check_storage_threshold,
        schema={"type": "number", "minimum": 0},
        description="Alert on repositories whose billable storage is over this many GB (2^30 bytes).",
        to_xcom=str,
    ),
    Setting(
        "repository_thresholds_gb",
        {},
        check=check_repository_thresholds,
        schema={"type": "object", "additionalProperties": {"type": "number"}},
        description="Glob pattern -> GB, overriding storage_threshold_gb; the last matching pattern wins.",
        to_xcom=_gb_texts,
    ),
    _text(
        "sns_topic_arn",
        "",
        check_topic_arn,
        "SNS topic of the threshold alert; empty: no alert is sent.",
    ),
    _text(
        "aws_conn_id",
        "aws_default",
        check_conn_id,
        "Airflow AWS connection; empty: boto3's default credential chain.",
    ),
    Setting(
        "price_per_gb_month",
        None,
        check=check_price,
        schema={"type": ["null", "number"], "exclusiveMinimum": 0},
        description="Storage price override in USD per GB-month; "
        "empty: each region's price from the AWS Pricing API.",
        to_xcom=_text_or_none,
    ),
    Setting(
        "max_concurrency",
        DEFAULT_MAX_CONCURRENCY,
        check=check_concurrency,
        schema={"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY_LIMIT},
        description="Repositories each registry task reads at once.",
    ),
    _flag(
        "force_resend_notification",
        "Send the date's threshold alert again even though it was already sent.",
    ),
    Setting(
        "read_manifests",
        "if-excluded",
        check=check_read_manifests,
        schema={"enum": list(READ_MANIFESTS)},
        description="Unique-blob storage needs manifests, and reading one counts as a pull in ECR: "
        "'if-excluded' reads them only when the reporting role is excluded from pull-time updates.",
    ),
    _flag(
        "include_findings",
        "Also write the image_findings report: one row per vulnerability finding per image.",
    ),
    Setting(
        "max_requests_per_second",
        DEFAULT_REQUESTS_PER_SECOND,
        check=check_request_rate,
        schema={"type": "number", "minimum": 0, "maximum": MAX_REQUESTS_PER_SECOND},
        description="Ceiling on the ECR, Inspector, ECS and Lambda requests a report sends each registry "
        "per second, so production pulls keep the account's capacity; 0: no ceiling.",
        to_xcom=_as_is,
    ),
    Setting(
        "batch_size",
        DEFAULT_BATCH_SIZE,
        check=check_batch_size,
        schema={"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE},
        description="Registries per report task; grows by itself when the batches would exceed Airflow's "
        "max_map_length. A registry with 50,000 images or more at its last report gets a task of its own.",
    ),
    Setting(
        "findings_max_age_days",
        DEFAULT_FINDINGS_MAX_AGE_DAYS,
        check=check_findings_max_age_days,
        schema={"type": "integer", "minimum": 0, "maximum": MAX_FINDINGS_AGE_DAYS},
        description="image_findings lists images pushed or pulled within this many days.",
    ),
    _text(
        "report_kms_key_id",
        "",
        check_kms_key_id,
        "KMS key (id, ARN or alias/NAME) every object the run writes is encrypted under (SSE-KMS); "
        "empty: the bucket's default encryption.",
    ),
    Setting(
        "reclaim_after_days",
        DEFAULT_RECLAIM_AFTER_DAYS,
        check=check_reclaim_after_days,
        schema={"type": "integer", "minimum": 0, "maximum": MAX_RECLAIM_AFTER_DAYS},
        description="An image not in use is reclaimable once neither pulled nor pushed for this many days.",
    ),
    Setting(
        "protected_tag_patterns",
        [],
        check=check_protected_tag_patterns,
        schema={"type": "array", "items": {"type": "string"}},
        description="Glob patterns (such as 'v*' or 'release-*'); an image with a matching tag is never "
        "reclaimable.",
        to_xcom=list,
    ),
)
"""In the trigger form's order."""
DEFAULTS: dict[str, Any] = {setting.name: setting.default for setting in SETTINGS}
CONFIG_VARIABLE = "ecr_report_config"
"""The Airflow Variable (JSON object of these names) that scheduled runs take their settings from."""
REPORT_DATE_PARAM = Setting(
    "report_date",
    None,
    check=None,
    schema={"type": ["null", "string"], "format": "date"},
    description="Report date (YYYY-MM-DD) a manual run writes, reported as of its start (00:00 UTC) like "
    "its scheduled run; empty: the run's own date.",
)
"""A param of the trigger form, not a setting: a configured date would pin every scheduled run to it."""


class SettingsXCom(TypedDict):
    """``ReportSettings.as_params()``: JSON-safe, and read back by ``ReportSettings.from_mapping``."""

    regions: list[str]
    accounts: list[str]
    role_name: str
    discover_accounts: bool
    report_bucket: str
    report_prefix: str
    athena_database: str
    storage_threshold_gb: str
    repository_thresholds_gb: dict[str, str]
    sns_topic_arn: str
    aws_conn_id: str | None
    price_per_gb_month: str | None
    max_concurrency: int
    force_resend_notification: bool
    read_manifests: ReadManifests
    include_findings: bool
    max_requests_per_second: float | None
    batch_size: int
    findings_max_age_days: int
    report_kms_key_id: str
    reclaim_after_days: int
    protected_tag_patterns: list[str]


class RunXCom(SettingsXCom):
    """What the DAG's ``resolve_settings`` task returns: the settings and the run's as-of time."""

    as_of: str
    report_date: str


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """The checked settings, one field per entry of ``SETTINGS``."""

    regions: tuple[str, ...]
    accounts: tuple[str, ...]
    role_name: str
    discover_accounts: bool
    report_bucket: str
    report_prefix: str
    athena_database: str
    storage_threshold_gb: Decimal
    repository_thresholds_gb: tuple[tuple[str, Decimal], ...]
    sns_topic_arn: str
    aws_conn_id: str | None
    price_per_gb_month: Decimal | None
    max_concurrency: int
    force_resend_notification: bool
    read_manifests: ReadManifests
    include_findings: bool
    max_requests_per_second: float | None
    batch_size: int
    findings_max_age_days: int
    report_kms_key_id: str
    reclaim_after_days: int
    protected_tag_patterns: tuple[str, ...]

    @property
    def thresholds(self) -> ThresholdPolicy:
        return ThresholdPolicy(self.storage_threshold_gb, self.repository_thresholds_gb)

    @classmethod
    def resolve(
        cls, configured: str, explicit: Mapping[str, Any], known_regions: Collection[str] = ()
    ) -> ReportSettings:
        """Built-in defaults, then the deployment's JSON configuration (may be empty), then the run's
        own params; a null at either level leaves the value below it."""
        try:
            parsed = json.loads(configured) if configured.strip() else {}
        except ValueError as error:
            raise ValueError(
                f"configured settings ({CONFIG_VARIABLE}) {configured!r} are not valid JSON: {error}"
            ) from None
        if not isinstance(parsed, Mapping):
            raise ValueError(
                f"configured settings ({CONFIG_VARIABLE}) must be a JSON object, got {configured!r}"
            )
        return cls.from_mapping({**_unset(parsed), **_unset(explicit)}, known_regions)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], known_regions: Collection[str] = ()) -> ReportSettings:
        """Every value is checked, and every bad one named in one error, so one trigger shows them all."""
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; allowed: {sorted(DEFAULTS)}")
        merged = {**DEFAULTS, **values}
        checks: dict[str, Callable[[Any], Any]] = {
            setting.name: setting.check for setting in SETTINGS if setting.check is not None
        }
        checks["regions"] = partial(check_regions, known=known_regions)
        checked: dict[str, Any] = {}
        problems: list[str] = []
        for name, check in checks.items():
            try:
                checked[name] = check(merged[name])
            except ValueError as error:
                problems.append(str(error))
        role_name = checked.get("role_name")
        if role_name is not None:  # accounts given by id are completed by a valid role name
            try:
                checked["accounts"] = check_accounts(merged["accounts"], role_name)
            except ValueError as error:
                problems.append(str(error))
        if checked.get("discover_accounts") and role_name == "":
            problems.append("discover_accounts needs role_name: the role to assume in each account it finds")
        if problems:
            raise ValueError("; ".join(problems))
        return cls(**checked)

    def as_params(self) -> SettingsXCom:
        """The normalised settings as JSON-safe values, for XCom and the next tasks' templates."""
        return cast(
            "SettingsXCom",
            {setting.name: setting.to_xcom(getattr(self, setting.name)) for setting in SETTINGS},
        )


def run_dates(
    report_date: object, interval_end: datetime | None, run_after: datetime
) -> tuple[str, datetime]:
    """A run's report date (the ``report_date`` param, else the end of its data interval, else when it
    ran) and its as-of time: the date's start, 00:00 UTC, whichever run writes it, so a manual rerun of
    a date reproduces the scheduled run's "days since" instead of the wall clock of whoever clicked."""
    if report_date in (None, ""):
        date = utc(interval_end or run_after).date().isoformat()
    elif not isinstance(report_date, str) or not REPORT_DATE.match(report_date):
        raise ValueError(f"report_date {report_date!r} is not a date YYYY-MM-DD")
    else:
        date = report_date
    try:
        as_of = datetime.fromisoformat(date).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"report_date {report_date!r} is not a calendar date") from None
    if as_of > utc(run_after):
        raise ValueError(f"report_date {date!r} is in the future; reports describe the past")
    return date, as_of


def resolve_run(
    configured: str,
    params: Mapping[str, Any],
    *,
    interval_end: datetime | None,
    run_after: datetime,
    known_regions: Collection[str] = (),
) -> RunXCom:
    """The first task of a run: every param and configured value checked, every bad one named at once."""
    explicit = dict(params)
    requested_date = explicit.pop(REPORT_DATE_PARAM.name, None)
    problems: list[str] = []
    try:
        settings = ReportSettings.resolve(configured, explicit, known_regions).as_params()
    except ValueError as error:
        problems.append(str(error))
    try:
        report_date, as_of = run_dates(requested_date, interval_end, run_after)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        raise ValueError("; ".join(problems))
    return cast("RunXCom", {**settings, "as_of": as_of.isoformat(), "report_date": report_date})


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
