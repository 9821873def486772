"""The base of every task that reads or writes the report lake: where the reports are (bucket, prefix,
report date) and the KMS key its writes use, their template fields, checks and hook parameters written
once, as the amazon provider's ``AwsBaseOperator`` does for the connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import AwsHookType, aws_template_fields
from botocore.config import Config

from ecr_provider.core.layout import DEFAULT_REPORT_PREFIX, check_report_date
from ecr_provider.core.settings import check_bucket, check_prefix
from ecr_provider.hooks.report_catalog import ReportCatalogHook
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.version_compat import AirflowSkipException

LAKE_TEMPLATE_FIELDS = ("report_bucket", "report_prefix", "report_date", "report_kms_key_id")


def lake_template_fields(*template_fields: str) -> tuple[str, ...]:
    """The connection's and the lake's template fields, then ``template_fields``: merged the way
    ``aws_template_fields`` merges the connection's."""
    return aws_template_fields(*LAKE_TEMPLATE_FIELDS, *template_fields)


class LakeLocation(NamedTuple):
    """Where a task's report date is, checked."""

    bucket: str
    prefix: str
    report_date: str

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


class ReportLakeOperator(AwsBaseOperator[AwsHookType]):
    """
    Base operator of the report lake's tasks.

    :param report_bucket: S3 bucket of the reports (templated)
    :param report_prefix: key prefix without leading or trailing ``/`` (templated)
    :param report_date: ``YYYY-MM-DD`` of the run (templated)
    :param report_kms_key_id: KMS key (id, ARN or alias) the task's objects are written under (SSE-KMS);
        empty: the bucket's default encryption (templated)
    """

    template_fields: Sequence[str] = lake_template_fields()

    def __init__(
        self,
        *,
        report_bucket: str,
        report_date: str,
        report_prefix: str = DEFAULT_REPORT_PREFIX,
        report_kms_key_id: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.report_bucket = report_bucket
        self.report_prefix = report_prefix
        self.report_date = report_date
        self.report_kms_key_id = report_kms_key_id

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        parameters = super()._hook_parameters
        if issubclass(self.aws_hook_class, ReportLakeHook):
            return {**parameters, "report_kms_key_id": self.report_kms_key_id}
        return parameters

    def lake_location(self) -> LakeLocation:
        """The rendered bucket, prefix and date, each checked. A bucket still None means the run's
        settings were never resolved: a task that runs on ``all_done`` then has nothing to do."""
        if self.report_bucket is None:
            raise AirflowSkipException(
                "The run's settings were never resolved (resolve_settings failed, see its log): "
                "no registry was read and there is nothing to do"
            )
        return LakeLocation(
            check_bucket(self.report_bucket),
            check_prefix(self.report_prefix),
            check_report_date(self.report_date),
        )

    def lake_hook(self, tuning: Config | None = None) -> ReportLakeHook:
        """A report-lake hook on the task's connection, for a task whose own hook is another service's
        (or that needs other ``tuning``)."""
        return ReportLakeHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=self.botocore_config,
            tuning=tuning,
            report_kms_key_id=self.report_kms_key_id,
        )

    def catalog_hook(self) -> ReportCatalogHook:
        """A Glue catalog hook on the task's connection, for a task whose own hook is S3's."""
        return ReportCatalogHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=self.botocore_config,
        )
