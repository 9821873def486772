"""The checked settings as the DAG's tasks receive them: JSON-safe, amounts as exact text.

Generated from ``table.SETTINGS`` by ``python -m tools.settings_reference``; do not edit.
"""

from __future__ import annotations

from typing import TypedDict

from ecr_provider.core.settings.checks import ReadManifests


class CheckedSettings(TypedDict):
    """Every setting, checked: what ``resolve.check_settings`` returns."""

    report_bucket: str
    report_prefix: str
    athena_database: str
    report_kms_key_id: str
    aws_conn_id: str | None
    regions: list[str]
    accounts: list[str]
    role_name: str
    discover_accounts: bool
    workload_accounts: list[str]
    discover_workload_accounts: bool
    read_manifests: ReadManifests
    include_findings: bool
    findings_max_age_days: int
    price_per_gb_month: str | None
    storage_threshold_gb: str
    repository_thresholds_gb: dict[str, str]
    sns_topic_arn: str
    force_resend_notification: bool
    reclaim_after_days: int
    protected_tag_patterns: list[str]
    max_concurrency: int
    max_requests_per_second: float | None
    batch_size: int


class DatedSettings(CheckedSettings):
    """The settings of one report date: what the DAG's ``resolve_settings`` task returns."""

    as_of: str
    report_date: str
