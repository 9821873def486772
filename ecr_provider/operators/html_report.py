"""Write a report date's self-contained HTML page to S3, beside the date's CSVs, after the run manifest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from ecr_provider.core.columns import IMAGES_REPORT, REPORTS, REPOSITORIES_REPORT
from ecr_provider.core.html_report import (
    ALL_REGISTRIES,
    REGISTRIES_REPORT,
    ReportPage,
    RunDecision,
    Scope,
    degraded_registries,
    html_report_key,
    page_images,
    trend_point,
)
from ecr_provider.core.layout import check_report_date, partition_prefix, report_date_of
from ecr_provider.core.run_manifest import RUNS_DIRECTORY, run_manifest_key
from ecr_provider.core.settings import check_bucket, check_prefix
from ecr_provider.core.thresholds import ThresholdPolicy
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.pages.render import render_report
from ecr_provider.version_compat import AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context

INCOMPLETE = (
    "This date is incomplete: a registry failed (see its run manifest); the figures cover those that loaded."
)
NO_MANIFEST = "This date has no run manifest yet: its run may still be going, and the figures may change."
TREND_DATES = 366
"""Report dates the trend goes back: a year of daily runs, one small manifest GET each."""


def manifest_dates(lake: ReportLakeHook, bucket: str, prefix: str) -> list[str]:
    """Every date with a run record, oldest first (one LIST of the ``_runs/`` partitions)."""
    base = f"{prefix}/{RUNS_DIRECTORY}/" if prefix else f"{RUNS_DIRECTORY}/"
    partitions = lake.list_prefixes(bucket_name=bucket, prefix=base, delimiter="/")
    return sorted(date for partition in partitions if (date := report_date_of(partition)) is not None)


def date_rows(
    lake: ReportLakeHook,
    bucket: str,
    prefix: str,
    report: str,
    report_date: str,
    *,
    scope: Scope = ALL_REGISTRIES,
) -> Iterable[dict[str, str]]:
    """A report's rows of one date, streamed object by object; only the objects of registries in
    ``scope`` are read (one object per registry, named ``{account}-{region}.csv``)."""
    for key in lake.keys_under(bucket, partition_prefix(prefix, report, report_date)):
        account_id, _, region = key.rsplit("/", 1)[-1].removesuffix(".csv").partition("-")
        if key.endswith(".csv") and scope.covers(account_id, region):
            yield from lake.read_report_rows(bucket, key)


def read_report_page(
    lake: ReportLakeHook,
    bucket: str,
    prefix: str,
    report_date: str,
    *,
    manifests: Mapping[str, Mapping[str, Any]],
    scope: Scope = ALL_REGISTRIES,
    policy: ThresholdPolicy | None = None,
    decision: RunDecision | None = None,
) -> ReportPage:
    """The page of one date from the lake: its summaries' rows (images streamed into the page's image
    sections), and the trend from the given run manifests by date (the caller reads or caches those)."""
    in_scope = list(date_rows(lake, bucket, prefix, REPOSITORIES_REPORT, report_date, scope=scope))
    images = page_images(date_rows(lake, bucket, prefix, IMAGES_REPORT, report_date, scope=scope), in_scope)
    registries = (
        list(date_rows(lake, bucket, prefix, REGISTRIES_REPORT, report_date, scope=scope))
        if REGISTRIES_REPORT in REPORTS
        else []
    )
    trend = [
        point
        for date in sorted(manifests)
        if date <= report_date and (point := trend_point(manifests[date], scope)) is not None
    ]
    manifest = manifests.get(report_date)
    notes = (NO_MANIFEST,) if manifest is None else () if manifest.get("complete") else (INCOMPLETE,)
    return ReportPage(
        report_date,
        in_scope,
        trend,
        images,
        policy,
        scope,
        notes=notes,
        decision=decision,
        registries=registries,
        degraded=None if manifest is None else degraded_registries(manifest, scope),
    )


def read_manifests(
    lake: ReportLakeHook, bucket: str, prefix: str, dates: Sequence[str]
) -> dict[str, dict[str, Any]]:
    return {
        date: manifest
        for date in dates
        if (manifest := lake.read_json(bucket, run_manifest_key(prefix, date))) is not None
    }


class HtmlReportOperator(AwsBaseOperator[ReportLakeHook]):
    """
    Write ``{prefix}/_html/report_date=YYYY-MM-DD/report.html``: the date's figures on one page.

    Reads the date's repositories and images summaries and the run manifests of up to
    :data:`TREND_DATES` dates for the trend; no Athena query. Run it after the run manifest, which
    it takes the date's trend point from; in the DAG only once the manifest says complete (a failed
    run manifest must stay the failing leaf). The Airflow page shows an incomplete date, and says so.

    :param report_bucket: S3 bucket of the data lake (templated)
    :param report_prefix: key prefix without leading or trailing ``/`` (templated)
    :param report_date: ``YYYY-MM-DD`` of the page (templated)
    :param storage_threshold_gb: the run's global threshold, for the over-threshold table (templated)
    :param repository_thresholds_gb: the run's per-repository glob thresholds (templated)
    :param trend_dates: how many report dates the trend goes back, at most
    :param report_kms_key_id: KMS key the page is written under (SSE-KMS); empty: the bucket's
        default encryption (templated)
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = aws_template_fields(
        "report_bucket",
        "report_prefix",
        "report_date",
        "storage_threshold_gb",
        "repository_thresholds_gb",
        "report_kms_key_id",
    )

    def __init__(
        self,
        *,
        report_bucket: str,
        report_date: str,
        report_prefix: str = "ecr-reports",
        storage_threshold_gb: object = None,
        repository_thresholds_gb: Mapping[str, object] | None = None,
        trend_dates: int = TREND_DATES,
        report_kms_key_id: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.report_kms_key_id = report_kms_key_id
        if isinstance(trend_dates, bool) or not isinstance(trend_dates, int) or trend_dates < 1:
            raise ValueError(f"trend_dates must be a whole number of dates >= 1, got {trend_dates!r}")
        self.report_bucket = report_bucket
        self.report_prefix = report_prefix
        self.report_date = report_date
        self.storage_threshold_gb = storage_threshold_gb
        self.repository_thresholds_gb = repository_thresholds_gb
        self.trend_dates = trend_dates

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "report_kms_key_id": self.report_kms_key_id}

    def execute(self, context: Context) -> str:
        if self.report_bucket is None:
            raise AirflowSkipException("The run's settings were never resolved (resolve_settings failed)")
        bucket = check_bucket(self.report_bucket)
        prefix = check_prefix(self.report_prefix)
        report_date = check_report_date(self.report_date)
        policy = (
            None
            if self.storage_threshold_gb is None
            else ThresholdPolicy.from_params(self.storage_threshold_gb, self.repository_thresholds_gb)
        )
        lake = self.hook
        dates = [date for date in manifest_dates(lake, bucket, prefix) if date <= report_date]
        manifests = read_manifests(lake, bucket, prefix, dates[-self.trend_dates :])
        page = read_report_page(lake, bucket, prefix, report_date, manifests=manifests, policy=policy)
        key = html_report_key(prefix, report_date)
        lake.write_bytes(bucket, key, render_report(page).encode("utf-8"))
        location = f"s3://{bucket}/{key}"
        self.log.info(
            "HTML report %s: %d repositories, %d trend dates",
            location,
            len(page.repositories),
            len(page.trend),
        )
        return location
