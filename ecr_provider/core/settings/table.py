"""The table of settings: the one declaration of each DAG param, configuration key and console option.

The trigger form, the typed shape of the checked settings (``shapes.py``), the console command's
options and the settings table of ``docs/configuration.md`` are all made from ``SETTINGS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

from ecr_provider.core.cleanup import (
    DEFAULT_RECLAIM_AFTER_DAYS,
    MAX_RECLAIM_AFTER_DAYS,
    check_protected_tag_patterns,
    check_reclaim_after_days,
)
from ecr_provider.core.settings.checks import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FINDINGS_MAX_AGE_DAYS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REQUESTS_PER_SECOND,
    MAX_BATCH_SIZE,
    MAX_CONCURRENCY_LIMIT,
    MAX_FINDINGS_AGE_DAYS,
    MAX_PRICE_PER_GB_MONTH,
    MAX_REQUESTS_PER_SECOND,
    MAX_THRESHOLD_GB,
    READ_MANIFESTS,
    check_batch_size,
    check_bucket,
    check_concurrency,
    check_conn_id,
    check_database,
    check_findings_max_age_days,
    check_flag,
    check_kms_key_id,
    check_prefix,
    check_price,
    check_read_manifests,
    check_repository_thresholds,
    check_request_rate,
    check_storage_threshold,
    check_topic_arn,
)
from ecr_provider.core.targets import check_role_name

CONFIG_VARIABLE = "ecr_report_config"
"""The Airflow Variable (JSON object of these names) that scheduled runs take their settings from."""


class Section(StrEnum):
    """The trigger form's groups, in the form's order."""

    DESTINATION = "Where reports go"
    SOURCE = "What to read"
    ALERTS = "Alerts"
    CLEANUP = "Cleanup rules"
    SCALE = "Scale"


def _as_is(value: object) -> object:
    return value


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _gb_texts(overrides: tuple[tuple[str, Any], ...]) -> dict[str, str]:
    return {pattern: str(gb) for pattern, gb in overrides}


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its default, check, checked JSON form, trigger-form schema and console option.

    ``check`` turns a raw value into the checked value; None means it depends on another setting or on
    the caller, and ``resolve.check_settings`` checks it. ``to_json`` makes the checked value JSON-safe
    (amounts as exact text), and ``json_type`` is that form's Python type, written into ``shapes.py``.
    ``flag`` is the console command's option (None: the setting is the DAG's only).
    """

    name: str
    default: Any
    check: Callable[[Any], Any] | None
    schema: Mapping[str, Any]
    description: str
    section: Section
    json_type: str
    to_json: Callable[[Any], Any] = _as_is
    flag: str | None = None

    @property
    def form_schema(self) -> dict[str, Any]:
        """The trigger form's schema admits null: a field left empty takes the configured value.

        ``section`` is the form's group (Airflow 3 reads it from the param's schema)."""
        schema = dict(self.schema)
        if "enum" in schema:
            # A select whose null option would show as "null": a text field with the choices offered
            # instead; resolve_settings refuses anything else, naming what is allowed.
            schema = {"type": ["null", "string"], "examples": list(schema.pop("enum"))}
        else:
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            schema["type"] = ["null", *(kind for kind in kinds if kind != "null")]
        return {**schema, "section": self.section.value}

    @property
    def form_description(self) -> str:
        return f"{self.description} Empty: the value in {CONFIG_VARIABLE}, else {json.dumps(self.default)}."


def _text(
    name: str,
    default: str,
    check: Callable[[Any], Any],
    description: str,
    section: Section,
    *,
    flag: str | None = None,
) -> Setting:
    return Setting(
        name,
        default,
        check=check,
        schema={"type": "string"},
        description=description,
        section=section,
        json_type="str",
        flag=flag,
    )


def _flag(name: str, description: str, section: Section, flag: str | None = None) -> Setting:
    return Setting(
        name,
        False,
        check=partial(check_flag, name=name),
        schema={"type": "boolean"},
        description=description,
        section=section,
        json_type="bool",
        flag=flag,
    )


SETTINGS: tuple[Setting, ...] = (
    _text(
        "report_bucket",
        "",
        check_bucket,
        "S3 bucket the reports are written to (required).",
        Section.DESTINATION,
    ),
    _text(
        "report_prefix",
        "ecr-reports",
        check_prefix,
        "Key prefix of the reports, without leading or trailing '/'; empty: the bucket's root.",
        Section.DESTINATION,
    ),
    _text(
        "athena_database",
        "ecr_reports",
        check_database,
        "Glue database the report tables and their partitions are registered in.",
        Section.DESTINATION,
        flag="--athena-database",
    ),
    _text(
        "report_kms_key_id",
        "",
        check_kms_key_id,
        "KMS key (id, ARN or alias/NAME) every object the run writes is encrypted under (SSE-KMS); "
        "empty: the bucket's default encryption.",
        Section.DESTINATION,
    ),
    Setting(
        "aws_conn_id",
        "aws_default",
        check=check_conn_id,
        schema={"type": "string"},
        description="Airflow AWS connection; empty: boto3's default credential chain.",
        section=Section.SOURCE,
        json_type="str | None",
    ),
    Setting(
        "regions",
        ["us-east-1"],
        check=None,
        schema={"type": "array", "items": {"type": "string"}, "minItems": 1},
        description="AWS regions to report; every account is read in every region.",
        section=Section.SOURCE,
        json_type="list[str]",
        to_json=list,
        flag="--region",
    ),
    Setting(
        "accounts",
        [],
        check=None,
        schema={"type": "array", "items": {"type": "string"}},
        description="Role ARNs or 12-digit account ids (completed by role_name); "
        "none at all: the connection's own account.",
        section=Section.SOURCE,
        json_type="list[str]",
        to_json=list,
    ),
    _text(
        "role_name",
        "",
        check_role_name,
        "IAM role to assume in accounts given by id or discovered; empty: accounts must be role ARNs.",
        Section.SOURCE,
    ),
    _flag(
        "discover_accounts",
        "Also report the Organization's active accounts, assuming role_name in each.",
        Section.SOURCE,
    ),
    Setting(
        "workload_accounts",
        [],
        check=None,
        schema={"type": "array", "items": {"type": "string"}},
        description="Role ARNs or 12-digit account ids (completed by role_name) whose ECS and Lambda "
        "workloads are read in every region, for the images they run from the reported registries, "
        "although their own registries are not reported.",
        section=Section.SOURCE,
        json_type="list[str]",
        to_json=list,
        flag="--workload-account",
    ),
    _flag(
        "discover_workload_accounts",
        "Also read the workloads of the Organization's active accounts (assuming role_name in each) "
        "for usage, without reporting their registries.",
        Section.SOURCE,
    ),
    Setting(
        "read_manifests",
        "if-excluded",
        check=check_read_manifests,
        schema={"enum": list(READ_MANIFESTS)},
        description="Unique-blob storage needs manifests, and reading one counts as a pull in ECR: "
        "'if-excluded' reads them only when the reporting role is excluded from pull-time updates.",
        section=Section.SOURCE,
        json_type="ReadManifests",
        flag="--read-manifests",
    ),
    _flag(
        "include_findings",
        "Also write the image_findings report: one row per vulnerability finding per image.",
        Section.SOURCE,
        flag="--include-findings",
    ),
    Setting(
        "findings_max_age_days",
        DEFAULT_FINDINGS_MAX_AGE_DAYS,
        check=check_findings_max_age_days,
        schema={"type": "integer", "minimum": 0, "maximum": MAX_FINDINGS_AGE_DAYS},
        description="image_findings lists images pushed or pulled within this many days.",
        section=Section.SOURCE,
        json_type="int",
        flag="--findings-max-age-days",
    ),
    Setting(
        "price_per_gb_month",
        None,
        check=check_price,
        schema={"type": ["null", "number"], "exclusiveMinimum": 0, "maximum": MAX_PRICE_PER_GB_MONTH},
        description="Storage price override in USD per GB-month; "
        "empty: each region's price from the AWS Pricing API.",
        section=Section.SOURCE,
        json_type="str | None",
        to_json=_text_or_none,
        flag="--price-per-gb-month",
    ),
    Setting(
        "storage_threshold_gb",
        50,
        check=check_storage_threshold,
        schema={"type": "number", "minimum": 0, "maximum": MAX_THRESHOLD_GB},
        description="Alert on repositories whose billable storage is over this many GB (2^30 bytes).",
        section=Section.ALERTS,
        json_type="str",
        to_json=str,
    ),
    Setting(
        "repository_thresholds_gb",
        {},
        check=check_repository_thresholds,
        schema={
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": MAX_THRESHOLD_GB},
        },
        description="Glob pattern -> GB, overriding storage_threshold_gb; the last matching pattern wins.",
        section=Section.ALERTS,
        json_type="dict[str, str]",
        to_json=_gb_texts,
    ),
    _text(
        "sns_topic_arn",
        "",
        check_topic_arn,
        "SNS topic of the threshold alert; empty: no alert is sent.",
        Section.ALERTS,
    ),
    _flag(
        "force_resend_notification",
        "Send the date's threshold alert again even though it was already sent.",
        Section.ALERTS,
    ),
    Setting(
        "reclaim_after_days",
        DEFAULT_RECLAIM_AFTER_DAYS,
        check=check_reclaim_after_days,
        schema={"type": "integer", "minimum": 0, "maximum": MAX_RECLAIM_AFTER_DAYS},
        description="An image not in use is reclaimable once neither pulled nor pushed for this many days.",
        section=Section.CLEANUP,
        json_type="int",
        flag="--reclaim-after-days",
    ),
    Setting(
        "protected_tag_patterns",
        [],
        check=check_protected_tag_patterns,
        schema={"type": "array", "items": {"type": "string"}},
        description="Glob patterns (such as 'v*' or 'release-*'); an image with a matching tag is never "
        "reclaimable.",
        section=Section.CLEANUP,
        json_type="list[str]",
        to_json=list,
        flag="--protected-tag-pattern",
    ),
    Setting(
        "max_concurrency",
        DEFAULT_MAX_CONCURRENCY,
        check=check_concurrency,
        schema={"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY_LIMIT},
        description="Repositories each registry task reads at once.",
        section=Section.SCALE,
        json_type="int",
        flag="--max-concurrency",
    ),
    Setting(
        "max_requests_per_second",
        DEFAULT_REQUESTS_PER_SECOND,
        check=check_request_rate,
        schema={"type": "number", "minimum": 0, "maximum": MAX_REQUESTS_PER_SECOND},
        description="Hard ceiling on the ECR, Inspector, ECS and Lambda requests a report sends each "
        "registry per second, so production pulls keep the account's capacity; 0: none (each registry "
        "is read at full speed and paced only while AWS throttles it).",
        section=Section.SCALE,
        json_type="float | None",
        flag="--max-requests-per-second",
    ),
    Setting(
        "batch_size",
        DEFAULT_BATCH_SIZE,
        check=check_batch_size,
        schema={"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE},
        description="Registries per report task; grows by itself when the batches would exceed Airflow's "
        "max_map_length. A registry with 50,000 images or more at its last report gets a task of its own.",
        section=Section.SCALE,
        json_type="int",
    ),
)
"""Grouped by section, in the trigger form's order."""
DEFAULTS: dict[str, Any] = {setting.name: setting.default for setting in SETTINGS}
CONSOLE_SETTINGS: tuple[Setting, ...] = tuple(setting for setting in SETTINGS if setting.flag)
REPORT_DATE_PARAM = Setting(
    "report_date",
    None,
    check=None,
    schema={"type": ["null", "string"], "format": "date"},
    description="Report date (YYYY-MM-DD) a manual run writes, reported as of its start (00:00 UTC) like "
    "its scheduled run; empty: the run's own date.",
    section=Section.DESTINATION,
    json_type="str",
)
"""A param of the trigger form, not a setting: a configured date would pin every scheduled run to it."""
