"""Close a run of a report date: replace the date's objects as a set, write the run manifest, and fail
the run when a registry is missing, so the DAG's final state says what the manifest says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import ecr_provider
from ecr_provider.core.columns import reports_written
from ecr_provider.core.layout import partition_prefix, plan_key, run_manifest_key
from ecr_provider.core.run_manifest import RunRecord, target_outcomes
from ecr_provider.core.run_plan import check_plan
from ecr_provider.core.settings import check_as_of, check_flag
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.base_lake import ReportLakeOperator, lake_template_fields
from ecr_provider.version_compat import AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context


class RunManifestOperator(ReportLakeOperator[ReportLakeHook]):
    """
    Write ``{prefix}/_runs/report_date=YYYY-MM-DD/manifest.json`` for the run, after every report task.

    Order, so a reader never sees two runs of a date mixed once the manifest says complete:

    1. the report tasks have written this run's objects (same keys as before: an overwrite);
    2. if every registry loaded, objects under the date's partitions that this run did not write
       (parts of registries no longer reported) are deleted; if one failed, nothing is deleted;
    3. the manifest is written last, recording what was removed or kept;
    4. an incomplete run fails this task (no retry: retrying cannot bring a failed registry back).

    Run it with ``trigger_rule=all_done`` so it runs when report tasks failed. The asset event of a
    complete date comes from the task that writes its page
    (:class:`~ecr_provider.operators.html_report.HtmlReportOperator`), after this one.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.

    :param as_of: ISO-8601 as-of time of the run (templated)
    :param include_findings: whether the run wrote image_findings; without, that report's objects of the
        date are neither stale nor removed (templated)

    The registries are the run plan's (``_runs/report_date=…/plan.json``); each report task recorded its
    registries' outcomes under ``_runs/report_date=…/outcomes/`` (see
    :class:`~ecr_provider.operators.registry_report.EcrRegistryReportOperator`): a listing and one read
    per task. A registry without an outcome of this run counts as failed.
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = lake_template_fields("as_of", "include_findings")

    def __init__(
        self,
        *,
        as_of: str,
        include_findings: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.include_findings = include_findings
        self.as_of = as_of

    def execute(self, context: Context) -> dict[str, Any]:
        bucket, prefix, report_date = self.lake_location()
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
        return {"manifest_key": key, "removed": removed}
