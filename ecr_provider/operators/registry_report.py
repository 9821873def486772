"""Extract one registry (an account in a region), transform it into both reports and load them to S3."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from botocore.config import Config

from ecr_provider.aws.ecr import pool_size
from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.pricing import PRICING_REGION
from ecr_provider.aws.registry import open_registry
from ecr_provider.core.layout import check_report_date, report_key
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.run_manifest import (
    FAILED,
    LOADED,
    OutcomeRecord,
    RegistrySummary,
    check_loaded,
    error_line,
    outcome_key,
)
from ecr_provider.core.settings import (
    DEFAULT_FINDINGS_MAX_AGE_DAYS,
    DEFAULT_MAX_CONCURRENCY,
    MAX_CONCURRENCY_LIMIT,
    check_as_of,
    check_bucket,
    check_concurrency,
    check_findings_max_age_days,
    check_prefix,
    whole_number,
)
from ecr_provider.core.targets import TargetParams
from ecr_provider.hooks.ecr_registry import EcrRegistryHook
from ecr_provider.hooks.report_lake import ReportLakeHook, S3ManifestCache
from ecr_provider.report_files import write_registry_report

if TYPE_CHECKING:
    from airflow.sdk import Context


class EcrRegistryReportOperator(AwsBaseOperator[EcrRegistryHook]):
    """
    Write the repositories and images reports of one registry to S3, one object per report, and
    the image_findings report when ``include_findings``.

    The rows stream from ECR to a local file and from there to S3; only the object keys and a
    small tally are returned (XCom), never rows. A rerun of a report date overwrites the same keys.
    Each try records its outcome, loaded or failed with the error that names the denied action, at
    ``{prefix}/_runs/report_date=YYYY-MM-DD/registries/{map index}.json`` for :class:`RunManifestOperator`.

    :param report_bucket: S3 bucket of the data lake (templated)
    :param report_prefix: key prefix without leading or trailing ``/`` (templated)
    :param report_date: ``YYYY-MM-DD`` partition of this run (templated)
    :param as_of: ISO-8601 time the "days since" columns are measured to (templated)
    :param price_per_gb_month: storage price override in USD, empty for the default (templated)
    :param max_concurrency: repositories read at once (templated)
    :param read_manifests: ``if-excluded`` (read manifests for unique-blob storage only when the
        reporting principal is excluded from pull-time updates), ``always`` (accept that pull times
        move) or ``never`` (templated)
    :param include_findings: also write the image_findings report, one row per finding (templated)
    :param findings_max_age_days: that report lists images pushed or pulled within this many days
        (templated)
    :param role_arn: role to assume to read another account's registry; S3 is written with the
        connection's own credentials, so one bucket collects every account
    :param report_kms_key_id: KMS key every object is written under (SSE-KMS); empty: the bucket's
        default encryption (templated)
    """

    aws_hook_class = EcrRegistryHook
    template_fields: Sequence[str] = aws_template_fields(
        "report_bucket",
        "report_prefix",
        "report_date",
        "as_of",
        "price_per_gb_month",
        "max_concurrency",
        "read_manifests",
        "include_findings",
        "findings_max_age_days",
        "report_kms_key_id",
    )
    ui_color = "#f7a35c"

    def __init__(
        self,
        *,
        report_bucket: str,
        report_date: str,
        as_of: str,
        report_prefix: str = "ecr-reports",
        price_per_gb_month: str | None = None,
        max_concurrency: int | str = DEFAULT_MAX_CONCURRENCY,
        role_arn: str | None = None,
        read_manifests: str = "if-excluded",
        include_findings: bool = False,
        findings_max_age_days: int | str = DEFAULT_FINDINGS_MAX_AGE_DAYS,
        report_kms_key_id: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.report_bucket = report_bucket
        self.report_prefix = report_prefix
        self.report_date = report_date
        self.as_of = as_of
        self.price_per_gb_month = price_per_gb_month
        self.max_concurrency = max_concurrency
        self.role_arn = role_arn
        self.read_manifests = read_manifests
        self.include_findings = include_findings
        self.findings_max_age_days = findings_max_age_days
        self.report_kms_key_id = report_kms_key_id
        if isinstance(max_concurrency, int):
            check_concurrency(max_concurrency)
        if isinstance(findings_max_age_days, int):
            check_findings_max_age_days(findings_max_age_days)

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {
            **super()._hook_parameters,
            "max_concurrency": whole_number(self.max_concurrency),  # the hook checks it
            "role_arn": self.role_arn,
        }

    def _pricing_client(self) -> Any:
        """The Price List API answers only in a few regions; us-east-1 serves every region's prices."""
        return AwsGenericHook(
            aws_conn_id=self.aws_conn_id,
            client_type="pricing",
            region_name=PRICING_REGION,
            verify=self.verify,
        ).conn

    def execute(self, context: Context) -> RegistrySummary:
        bucket = check_bucket(self.report_bucket)
        prefix = check_prefix(self.report_prefix)
        report_date = check_report_date(self.report_date)
        # The manifest cache is read and written from every reader thread.
        s3 = ReportLakeHook(
            aws_conn_id=self.aws_conn_id,
            verify=self.verify,
            tuning=Config(max_pool_connections=pool_size(MAX_CONCURRENCY_LIMIT)),
            report_kms_key_id=self.report_kms_key_id,
        )
        record_key = outcome_key(prefix, report_date, context["ti"].map_index or 0)
        record = OutcomeRecord(
            run_id=context["run_id"],
            target=TargetParams(region_name=self.hook.conn_region_name, role_arn=self.role_arn),
            status=FAILED,
            summary=None,
            error=None,
        )
        try:
            summary = self._report(s3, bucket, prefix, report_date)
        except Exception as error:
            record["error"] = error_line(error)
            try:
                s3.write_json(bucket, record_key, record)
            except AwsCallError as unrecorded:
                self.log.warning("The failure could not be recorded for the run manifest: %s", unrecorded)
            raise
        s3.write_json(bucket, record_key, {**record, "status": LOADED, "summary": summary})
        return check_loaded(summary)

    def _report(self, s3: ReportLakeHook, bucket: str, prefix: str, report_date: str) -> RegistrySummary:
        options = RegistryOptions.of(self)
        as_of = check_as_of(self.as_of, now=datetime.now(UTC))
        clients = self.hook.registry_clients()
        previous = s3.previous_report(
            bucket,
            prefix,
            report_date=report_date,
            account_id=clients.account_id,
            region=clients.region,
        )
        self.log.info(
            "Trend columns compare with %s", previous.report_date if previous else "nothing (first report)"
        )
        registry = open_registry(
            clients,
            options,
            as_of=as_of,
            manifest_cache=S3ManifestCache(s3, bucket, prefix),
            pricing_client=self._pricing_client,
            price_cache={},
            previous=previous,
        )
        keys: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="ecr-report-") as workdir:
            report = write_registry_report(
                [registry],
                Path(workdir),
                progress=lambda state: self.log.info("Progress: %s", state.line()),
            )
            self.log.info("ECR calls: %s", registry.reader.calls.summary())
            for name, path in report.files.items():
                keys[name] = report_key(prefix, name, report_date, clients.account_id, clients.region)
                s3.write_file(bucket, keys[name], path)
        summary = report.summary(clients.account_id, clients.region, report_date, keys)
        self.log.info(
            "Registry %s: %d repositories, %d images, USD %s per month; %d skipped",
            clients.label,
            summary["repositories"],
            summary["images"],
            summary["monthly_cost_usd"],
            len(report.skipped),
        )
        if report.findings is not None:
            self.log.info(
                "image_findings: %d findings of images within %d days",
                report.findings,
                options.findings_max_age_days,
            )
        return summary
