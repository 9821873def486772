"""Write a report date's self-contained HTML page to S3, beside the date's CSVs, after the run manifest;
then announce the complete date to the DAGs scheduled on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ecr_provider.core.layout import html_report_key, run_manifest_key
from ecr_provider.core.thresholds import ThresholdPolicy
from ecr_provider.hooks.report_lake import TREND_DATES, ReportLakeHook
from ecr_provider.links.reports import HtmlReportLink
from ecr_provider.operators.base_lake import ReportLakeOperator, lake_template_fields
from ecr_provider.pages.render import render_report
from ecr_provider.version_compat import AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context


class HtmlReportOperator(ReportLakeOperator[ReportLakeHook]):
    """
    Write ``{prefix}/_html/report_date=YYYY-MM-DD/report.html``: the date's figures on one page.

    Reads the date's repositories and images summaries, at the generation its manifest makes visible
    (and says so when a run is rewriting the date), and the run manifests of up to
    :data:`TREND_DATES` dates for the trend; no Athena query. Run it after the run manifest, which
    it takes the date's trend point from; in the DAG only once the manifest says complete (a failed
    run manifest must stay the failing leaf). The Airflow page shows an incomplete date, and says so.

    Its ``outlets`` (assets) get an event once the page is written, so a DAG scheduled on one can count
    on the page as on the CSVs; the event's extra names the date, its run manifest, the reports and
    the page. A date whose manifest is not complete gets its page and no event: the task then skips.
    The task links to the page in the S3 console.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.

    :param storage_threshold_gb: the run's global threshold, for the over-threshold table (templated)
    :param repository_thresholds_gb: the run's per-repository glob thresholds (templated)
    :param trend_dates: how many report dates the trend goes back, at most
    """

    aws_hook_class = ReportLakeHook
    operator_extra_links = (HtmlReportLink(),)
    template_fields: Sequence[str] = lake_template_fields("storage_threshold_gb", "repository_thresholds_gb")

    def __init__(
        self,
        *,
        storage_threshold_gb: object = None,
        repository_thresholds_gb: Mapping[str, object] | None = None,
        trend_dates: int = TREND_DATES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(trend_dates, bool) or not isinstance(trend_dates, int) or trend_dates < 1:
            raise ValueError(f"trend_dates must be a whole number of dates >= 1, got {trend_dates!r}")
        self.storage_threshold_gb = storage_threshold_gb
        self.repository_thresholds_gb = repository_thresholds_gb
        self.trend_dates = trend_dates

    def execute(self, context: Context) -> str:
        bucket, prefix, report_date = self.lake_location()
        policy = (
            None
            if self.storage_threshold_gb is None
            else ThresholdPolicy.from_params(self.storage_threshold_gb, self.repository_thresholds_gb)
        )
        lake = self.hook
        dates = [date for date in lake.manifest_dates(bucket, prefix) if date <= report_date]
        manifests = lake.read_manifests(bucket, prefix, dates[-self.trend_dates :])
        page = lake.read_report_page(
            bucket,
            prefix,
            report_date,
            manifests=manifests,
            policy=policy,
            in_progress=lake.read_in_progress(bucket, prefix, report_date),
        )
        key = html_report_key(prefix, report_date)
        lake.write_bytes(bucket, key, render_report(page).encode("utf-8"))
        location = f"s3://{bucket}/{key}"
        HtmlReportLink.persist(
            context=context,
            operator=self,
            region_name=lake.conn_region_name,
            aws_partition=lake.conn_partition,
            bucket=bucket,
            key=key,
        )
        self.log.info(
            "HTML report %s: %d repositories, %d trend dates",
            location,
            len(page.repositories),
            len(page.trend),
        )
        if self.outlets:
            self._announce(
                context, manifests.get(report_date), run_manifest_key(prefix, report_date), location
            )
        return location

    def _announce(self, context: Context, manifest: Mapping[str, Any] | None, key: str, page: str) -> None:
        """A downstream DAG scheduled on the asset learns which date is whole, and where."""
        manifest_at = f"s3://{self.report_bucket}/{key}"
        if manifest is None or not manifest.get("complete"):
            raise AirflowSkipException(
                f"The page {page} is written, but the date's run manifest {manifest_at} does not say "
                "complete: no asset event"
            )
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {
                "report_date": manifest["report_date"],
                "manifest": manifest_at,
                "reports": list(manifest["reports"]),
                "page": page,
            }
