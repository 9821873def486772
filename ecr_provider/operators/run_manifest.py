"""Close a run of a report date: replace the date's objects as a set, write the run manifest, and fail
the run when a registry is missing, so the DAG's final state says what the manifest says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

import ecr_provider
from ecr_provider.core.columns import reports_written
from ecr_provider.core.layout import check_report_date, partition_prefix, plan_key, run_manifest_key
from ecr_provider.core.run_manifest import RunRecord, target_outcomes
from ecr_provider.core.run_plan import check_plan
from ecr_provider.core.settings import check_as_of, check_bucket, check_flag, check_prefix
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.hooks.report_lake import ReportLakeHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class RunManifestOperator(AwsBaseOperator[ReportLakeHook]):
    """
    Write ``{prefix}/_runs/report_date=YYYY-MM-DD/manifest.json`` for the run, after every report task.

    Order, so a reader never sees two runs of a date mixed once the manifest says complete:

    1. the report tasks have written this run's objects (same keys as before: an overwrite);
    2. if every registry loaded, objects under the date's partitions that this run did not write
       (parts of registries no longer reported) are deleted; if one failed, nothing is deleted;
    3. the manifest is written last, recording what was removed or kept;
    4. an incomplete run fails this task (no retry: retrying cannot bring a failed registry back).

    Run it with ``trigger_rule=all_done`` so it runs when report tasks failed. Its ``outlets`` (assets)
    get an event only for a complete date (an incomplete one fails the task), with the date, the
    manifest's location and the reports in its extra.

    :param report_bucket: S3 bucket of the data lake (templated)
    :param report_prefix: key prefix without leading or trailing ``/`` (templated)
    :param report_date: ``YYYY-MM-DD`` partition of this run (templated)
    :param as_of: ISO-8601 as-of time of the run (templated)
    :param include_findings: whether the run wrote image_findings; without, that report's objects of the
        date are neither stale nor removed (templated)
    :param report_kms_key_id: KMS key the manifest is written under (SSE-KMS); empty: the bucket's
        default encryption (templated)

    The registries are the run plan's (``_runs/report_date=…/plan.json``); each report task recorded its
    registries' outcomes under ``_runs/report_date=…/outcomes/`` (see
    :class:`~ecr_provider.operators.registry_report.EcrRegistryReportOperator`): a listing and one read
    per task. A registry without an outcome of this run counts as failed.
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = aws_template_fields(
        "report_bucket", "report_prefix", "report_date", "as_of", "include_findings", "report_kms_key_id"
    )

    def __init__(
        self,
        *,
        report_bucket: str,
        report_date: str,
        as_of: str,
        report_prefix: str = "ecr-reports",
        include_findings: bool | str = False,
        report_kms_key_id: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.report_kms_key_id = report_kms_key_id
        self.include_findings = include_findings
        self.report_bucket = report_bucket
        self.report_prefix = report_prefix
        self.report_date = report_date
        self.as_of = as_of

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "report_kms_key_id": self.report_kms_key_id}

    def execute(self, context: Context) -> dict[str, Any]:
        if self.report_bucket is None:
            raise AirflowSkipException(
                "The run's settings were never resolved (resolve_settings failed, see its log): "
                "no registry was read and there is nothing to record"
            )
        bucket = check_bucket(self.report_bucket)
        prefix = check_prefix(self.report_prefix)
        report_date = check_report_date(self.report_date)
        as_of = check_as_of(self.as_of, now=datetime.now(UTC))
        reports = reports_written(check_flag(self.include_findings, "include_findings"))
        lake = self.hook
        run_id = context["run_id"]
        where = f"s3://{bucket}/{plan_key(prefix, report_date)}"
        plan = check_plan(lake.read_json(bucket, plan_key(prefix, report_date)), run_id, where)
        record = RunRecord(
            report_date=report_date,
            as_of=as_of.isoformat(),
            code_version=ecr_provider.__version__,
            targets=target_outcomes(
                [RegistryTarget.of(target) for target in plan["targets"]],
                lake.run_outcomes(bucket, prefix, report_date, run_id),
            ),
        )
        listed = [
            key
            for report in reports
            for key in lake.keys_under(bucket, partition_prefix(prefix, report, report_date))
        ]
        stale = record.stale(listed)
        if record.complete:
            lake.delete_keys(bucket, stale)
            removed, kept = stale, []
        else:
            removed, kept = [], stale
        key = run_manifest_key(prefix, report_date)
        lake.write_json(
            bucket, key, record.manifest(reports=reports, removed=removed, kept=kept, prices=plan["prices"])
        )
        self.log.info(
            "Run manifest s3://%s/%s: %d of %d registries loaded, %d stale object(s) removed, %d kept",
            bucket,
            key,
            len(record.targets) - len(record.failed),
            len(record.targets),
            len(removed),
            len(kept),
        )
        if not record.complete:
            raise AirflowFailException(
                f"Report date {report_date} is incomplete: {record.gaps()}. The manifest "
                f"s3://{bucket}/{key} records it; rerun the date once fixed."
            )
        for outlet in self.outlets:
            # A downstream DAG scheduled on the asset learns which date is whole, and where.
            context["outlet_events"][outlet].extra = {
                "report_date": report_date,
                "manifest": f"s3://{bucket}/{key}",
                "reports": list(reports),
            }
        return {"manifest_key": key, "removed": removed}
