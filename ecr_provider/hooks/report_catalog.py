"""GlueCatalogHook for the reports' Glue database: what makes a report date queryable in Athena."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

from ecr_provider.aws.athena_views import ensure_view
from ecr_provider.aws.glue_catalog import ReportCatalog
from ecr_provider.queries.views import typed_view

log = logging.getLogger(__name__)


class ReportCatalogHook(GlueCatalogHook):
    """
    Interact with the AWS Glue Data Catalog where the reports are registered for Athena.

    Every call is idempotent: a database, table, view or partition that exists is left alone, and
    one whose definition changed is updated in place (columns are only appended). Failures leave as
    ``AwsCallError`` naming the Glue action and the resource.
    """

    def catalog(self, database: str, bucket: str, prefix: str) -> ReportCatalog:
        return ReportCatalog(glue=self.conn, database=database, bucket=bucket, prefix=prefix)

    def register_report_date(
        self, database: str, bucket: str, prefix: str, report_date: str, reports: Sequence[str]
    ) -> dict[str, Any]:
        """The database, each report's table and typed view, then the date's partition of each."""
        catalog = self.catalog(database, bucket, prefix)
        catalog.ensure_database()
        tables: dict[str, dict[str, str]] = {}
        for report in reports:
            table = catalog.ensure_table(report)
            view = ensure_view(self.conn, database, typed_view(report))
            partition = catalog.register_partition(report, report_date)
            log.info(
                "%s.%s: table %s, view %s, partition %s %s",
                database,
                report,
                table,
                view,
                report_date,
                partition,
            )
            tables[report] = {"table": table, "view": view, "partition": partition}
        return {"database": database, "report_date": report_date, "tables": tables}
