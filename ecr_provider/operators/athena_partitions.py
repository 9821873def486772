"""Make a report date queryable in Athena: database, tables, typed views and the date's partitions at
the generation its manifest makes visible."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ecr_provider.core.columns import REPORTS
from ecr_provider.core.settings import check_database
from ecr_provider.hooks.report_catalog import ReportCatalogHook
from ecr_provider.hooks.report_lake import visible_generation
from ecr_provider.links.reports import AthenaQueryEditorLink
from ecr_provider.operators.base_lake import ReportLakeOperator, lake_template_fields

if TYPE_CHECKING:
    from airflow.sdk import Context


class AthenaReportPartitionsOperator(ReportLakeOperator[ReportCatalogHook]):
    """
    Ensure the Glue database, one table and one typed view per report exist, then register
    ``report_date``'s partitions at the generation the date's manifest makes visible, for the reports
    the manifest vouches for. A date without a manifest gets no partition: nothing of it is visible.

    Registering a date twice is harmless; a table, view or partition whose definition changed is updated
    in place, so a date registered before columns were appended shows them, and a partition left on
    another generation (a run stopped between switching the partitions and writing the manifest) is
    put back on the visible one. The run manifest
    (:class:`~ecr_provider.operators.run_manifest.RunManifestOperator`) switches the partitions to a
    new generation.

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
        manifest = self.lake_hook().read_manifest(lake.bucket, lake.prefix, lake.report_date)
        if manifest is None:
            self.log.info("Report date %s has no manifest yet: no partition", lake.report_date)
        return self.hook.register_report_date(
            database,
            lake.bucket,
            lake.prefix,
            lake.report_date,
            self.reports,
            generation=visible_generation(manifest),
            partitioned=[report for report in self.reports if report in (manifest or {}).get("reports", ())],
        )
