"""Make a report date queryable in Athena: database, tables, typed views and the date's partitions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ecr_provider.core.columns import REPORTS
from ecr_provider.core.settings import check_database
from ecr_provider.hooks.report_catalog import ReportCatalogHook
from ecr_provider.links.reports import AthenaQueryEditorLink
from ecr_provider.operators.base_lake import ReportLakeOperator, lake_template_fields

if TYPE_CHECKING:
    from airflow.sdk import Context


class AthenaReportPartitionsOperator(ReportLakeOperator[ReportCatalogHook]):
    """
    Ensure the Glue database, one table and one typed view per report exist, then register ``report_date``.

    Registering a date twice is harmless; a table, view or partition whose definition changed is updated
    in place, so a date registered before columns were appended shows them.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator` (the KMS key goes unused: this task
    writes no object).

    :param database: Glue database name (templated)
    :param reports: which reports to register; all by default
    """

    aws_hook_class = ReportCatalogHook
    operator_extra_links = (AthenaQueryEditorLink(),)
    template_fields: Sequence[str] = lake_template_fields("database")

    def __init__(
        self,
        *,
        database: str,
        reports: Sequence[str] = tuple(REPORTS),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        unknown = sorted(set(reports) - set(REPORTS))
        if unknown:
            raise ValueError(f"unknown report(s) {unknown}; known: {sorted(REPORTS)}")
        self.database = database
        self.reports = tuple(reports)

    def execute(self, context: Context) -> dict[str, Any]:
        database = check_database(self.database)
        lake = self.lake_location()
        AthenaQueryEditorLink.persist(
            context=context,
            operator=self,
            region_name=self.hook.conn_region_name,
            aws_partition=self.hook.conn_partition,
        )
        return self.hook.register_report_date(
            database, lake.bucket, lake.prefix, lake.report_date, self.reports
        )
