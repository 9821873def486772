"""Gate the notification on repositories whose billable storage is over their threshold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowSkipException

from ecr_provider.core.alert import BreachesRecord
from ecr_provider.core.layout import breaches_key, check_report_date
from ecr_provider.core.settings import check_bucket, check_prefix
from ecr_provider.core.thresholds import Breach, largest_first
from ecr_provider.hooks.report_lake import ReportLakeHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class RepositoryStorageThresholdSensor(AwsBaseSensor[ReportLakeHook]):
    """
    Find the repositories of the run that are over their threshold, from the outcomes its report tasks
    recorded (a listing and one read per task, not a read of every registry's report).

    Over threshold: done; the repositories go to ``{prefix}/_notifications/report_date=…/breaches.json``
    for the notifier and only their number to XCom. None over: the sensor skips, so the notification is
    skipped and the run still succeeds. A registry that failed has no outcome: the alert covers those
    that reported.

    :param report_bucket: bucket of the reports (templated)
    :param report_prefix: key prefix without leading or trailing ``/`` (templated)
    :param report_date: ``YYYY-MM-DD`` of the run (templated)
    :param report_kms_key_id: KMS key the record is written under (SSE-KMS); empty: the bucket's
        default encryption (templated)
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = aws_template_fields(
        "report_bucket", "report_prefix", "report_date", "report_kms_key_id"
    )

    def __init__(
        self,
        *,
        report_bucket: str,
        report_date: str,
        report_prefix: str = "ecr-reports",
        report_kms_key_id: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.report_kms_key_id = report_kms_key_id
        self.report_bucket = report_bucket
        self.report_prefix = report_prefix
        self.report_date = report_date

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "report_kms_key_id": self.report_kms_key_id}

    def poke(self, context: Context) -> PokeReturnValue | bool:
        bucket = check_bucket(self.report_bucket)
        prefix = check_prefix(self.report_prefix)
        report_date = check_report_date(self.report_date)
        outcomes = self.hook.run_outcomes(bucket, prefix, report_date, context["run_id"])
        breaches = largest_first(
            Breach.from_record(record) for outcome in outcomes.values() for record in outcome["breaches"]
        )
        if not breaches:
            loaded = sum(outcome["summary"] is not None for outcome in outcomes.values())
            raise AirflowSkipException(
                f"No repository is over its storage threshold ({loaded} registries reported)"
            )
        key = breaches_key(prefix, report_date)
        self.hook.write_json(
            bucket,
            key,
            BreachesRecord(run_id=context["run_id"], breaches=[breach.as_record() for breach in breaches]),
        )
        self.log.info(
            "%d repositories over threshold (s3://%s/%s): %s",
            len(breaches),
            bucket,
            key,
            ", ".join(breach.identity for breach in breaches[:20]),
        )
        return PokeReturnValue(is_done=True, xcom_value={"breaches": len(breaches)})
