"""Make a report date queryable in Athena: database, tables, typed views and the date's partitions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from ecr_provider.core.columns import REPORTS
from ecr_provider.core.layout import check_report_date
from ecr_provider.core.settings import check_bucket, check_database, check_prefix
from ecr_provider.hooks.report_catalog import ReportCatalogHook
from ecr_provider.links.reports import AthenaQueryEditorLink

if TYPE_CHECKING:
    from airflow.sdk import Context


class AthenaReportPartitionsOperator(AwsBaseOperator[ReportCatalogHook]):
    """
    Ensure the Glue database, one table and one typed view per report exist, then register ``report_date``.

    Registering a date twice is harmless; a table, view or partition whose definition changed is updated
    in place, so a date registered before columns were appended shows them.

    :param database: Glue database name (templated)
    :param report_bucket: S3 bucket of the data lake (templated)
    :param report_prefix: key prefix of the reports (templated)
    :param report_date: ``YYYY-MM-DD`` partition to register (templated)
    :param reports: which reports to register; all by default
    """

    aws_hook_class = ReportCatalogHook
    operator_extra_links = (AthenaQueryEditorLink(),)
    template_fields: Sequence[str] = aws_template_fields(
        "database", "report_bucket", "report_prefix", "report_date"
    )

    def __init__(
        self,
        *,
        database: str,
        report_bucket: str,
        report_date: str,
        report_prefix: str = "ecr-reports",
        reports: Sequence[str] = tuple(REPORTS),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        unknown = sorted(set(reports) - set(REPORTS))
        if unknown:
            raise ValueError(f"unknown report(s) {unknown}; known: {sorted(REPORTS)}")
        self.database = database
        self.report_bucket = report_bucket
        self.report_prefix = report_prefix
        self.report_date = report_date
        self.reports = tuple(reports)

    def execute(self, context: Context) -> dict[str, Any]:
        database = check_database(self.database)
        bucket = check_bucket(self.report_bucket)
        prefix = check_prefix(self.report_prefix)
        report_date = check_report_date(self.report_date)
        AthenaQueryEditorLink.persist(
            context=context,
            operator=self,
            region_name=self.hook.conn_region_name,
            aws_partition=self.hook.conn_partition,
        )
        return self.hook.register_report_date(database, bucket, prefix, report_date, self.reports)
