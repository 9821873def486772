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

    def ensure_tables(
        self, database: str, bucket: str, prefix: str, reports: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        """The database, then each report's table and typed view."""
        catalog = self.catalog(database, bucket, prefix)
        catalog.ensure_database()
        return {
            report: {
                "table": catalog.ensure_table(report),
                "view": ensure_view(self.conn, database, typed_view(report)),
            }
            for report in reports
        }

    def unreadable_tables(
        self, database: str, bucket: str, prefix: str, reports: Sequence[str]
    ) -> dict[str, str]:
        """The reports whose table in ``database`` is missing or reads another bucket or prefix."""
        return self.catalog(database, bucket, prefix).unreadable_tables(reports)

    def register_partitions(
        self,
        database: str,
        bucket: str,
        prefix: str,
        report_date: str,
        reports: Sequence[str],
        *,
        generation: str | None,
    ) -> dict[str, str]:
        """The date's partition of each report at ``generation`` (None: the objects of a date written
        before generations), its tables existing."""
        catalog = self.catalog(database, bucket, prefix)
        partitions = {}
        for report in reports:
            partitions[report] = catalog.register_partition(report, report_date, generation)
            log.info(
                "%s.%s: partition %s generation %s %s",
                database,
                report,
                report_date,
                generation,
                partitions[report],
            )
        return partitions

    def register_report_date(
        self,
        database: str,
        bucket: str,
        prefix: str,
        report_date: str,
        reports: Sequence[str],
        *,
        generation: str | None,
        partitioned: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The tables and views of ``reports``, then the date's partitions at ``generation`` of
        ``partitioned`` (all of ``reports`` by default)."""
        tables = self.ensure_tables(database, bucket, prefix, reports)
        partitions = self.register_partitions(
            database,
            bucket,
            prefix,
            report_date,
            reports if partitioned is None else partitioned,
            generation=generation,
        )
        return {
            "database": database,
            "report_date": report_date,
            "generation": generation,
            "tables": tables,
            "partitions": partitions,
        }
