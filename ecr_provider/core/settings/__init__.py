"""The run's settings (DAG params, configuration and console options), checked before any AWS call.

``table`` declares each setting once; ``checks`` holds the check of each value; ``resolve`` merges and
checks a run's settings; ``report_date`` works out a run's date and as-of time; ``shapes`` is the typed
form of the checked settings, generated from the table. The names below are the package's public ones.
"""

from __future__ import annotations

from ecr_provider.core.settings.checks import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FINDINGS_MAX_AGE_DAYS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REQUESTS_PER_SECOND,
    MAX_CONCURRENCY_LIMIT,
    READ_MANIFESTS,
    ReadManifests,
    check_batch_size,
    check_bucket,
    check_concurrency,
    check_database,
    check_findings_max_age_days,
    check_flag,
    check_kms_key_id,
    check_prefix,
    check_price,
    check_read_manifests,
    check_regions,
    check_report_url,
    check_request_rate,
    check_topic_arn,
    whole_number,
)
from ecr_provider.core.settings.report_date import check_as_of, run_dates
from ecr_provider.core.settings.resolve import check_settings, resolve_dated_settings, resolve_settings
from ecr_provider.core.settings.shapes import CheckedSettings, DatedSettings
from ecr_provider.core.settings.table import (
    CONFIG_VARIABLE,
    CONSOLE_SETTINGS,
    DEFAULTS,
    REPORT_DATE_PARAM,
    SETTINGS,
    Section,
    Setting,
)

__all__ = [
    "CONFIG_VARIABLE",
    "CONSOLE_SETTINGS",
    "DEFAULTS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_FINDINGS_MAX_AGE_DAYS",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_REQUESTS_PER_SECOND",
    "MAX_CONCURRENCY_LIMIT",
    "READ_MANIFESTS",
    "REPORT_DATE_PARAM",
    "SETTINGS",
    "CheckedSettings",
    "DatedSettings",
    "ReadManifests",
    "Section",
    "Setting",
    "check_as_of",
    "check_batch_size",
    "check_bucket",
    "check_concurrency",
    "check_database",
    "check_findings_max_age_days",
    "check_flag",
    "check_kms_key_id",
    "check_prefix",
    "check_price",
    "check_read_manifests",
    "check_regions",
    "check_report_url",
    "check_request_rate",
    "check_settings",
    "check_topic_arn",
    "resolve_dated_settings",
    "resolve_settings",
    "run_dates",
    "whole_number",
]
