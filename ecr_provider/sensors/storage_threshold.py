"""Gate the notification on repositories whose billable storage is over their threshold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowSkipException

from ecr_provider.core.alert import build_alert
from ecr_provider.core.columns import REPOSITORIES_REPORT
from ecr_provider.core.thresholds import ThresholdPolicy, find_breaches
from ecr_provider.hooks.report_lake import ReportLakeHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class RepositoryStorageThresholdSensor(AwsBaseSensor[ReportLakeHook]):
    """
    Wait for the run's repositories reports in S3, then find repositories over their threshold.

    Over threshold: done, and the alert (subject, message, names) goes to XCom for the notifier.
    None over: the sensor skips, so the notification is skipped and the run still succeeds.

    :param report_bucket: bucket the reports were loaded to (templated)
    :param registry_reports: what the report tasks returned; their ``keys`` name the objects (templated)
    :param report_date: ``YYYY-MM-DD`` of the run, for the message (templated)
    :param storage_threshold_gb: threshold for every repository, in GB (2^30 bytes) (templated)
    :param repository_thresholds_gb: glob pattern -> GB; the last matching pattern wins (templated)
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = aws_template_fields(
        "report_bucket", "registry_reports", "report_date", "storage_threshold_gb", "repository_thresholds_gb"
    )

    def __init__(
        self,
        *,
        report_bucket: str,
        registry_reports: Sequence[Mapping[str, Any]],
        report_date: str,
        storage_threshold_gb: float | str,
        repository_thresholds_gb: Mapping[str, float | str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.report_bucket = report_bucket
        self.registry_reports = registry_reports
        self.report_date = report_date
        self.storage_threshold_gb = storage_threshold_gb
        self.repository_thresholds_gb = repository_thresholds_gb

    def poke(self, context: Context) -> PokeReturnValue | bool:
        policy = ThresholdPolicy.from_params(self.storage_threshold_gb, self.repository_thresholds_gb)
        # A registry whose task failed left no summary; the alert covers those that reported.
        keys = [report["keys"][REPOSITORIES_REPORT] for report in self.registry_reports if report]
        missing = [key for key in keys if not self.hook.has_key(self.report_bucket, key)]
        if missing:
            self.log.info(
                "Waiting for %d report object(s), e.g. s3://%s/%s",
                len(missing),
                self.report_bucket,
                missing[0],
            )
            return False
        rows = (row for key in keys for row in self.hook.read_report_rows(self.report_bucket, key))
        breaches = find_breaches(rows, policy)
        if not breaches:
            raise AirflowSkipException(
                f"No repository is over its storage threshold ({len(keys)} report(s) read)"
            )
        alert = build_alert(breaches, self.report_date)
        self.log.info("%d repositories over threshold: %s", len(breaches), ", ".join(alert.repositories[:20]))
        return PokeReturnValue(is_done=True, xcom_value=alert.as_xcom())
