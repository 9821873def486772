"""Close a run of a report date: make its generation visible in one step (Glue partitions, then the
date's manifest) unless that would replace a complete date with an incomplete one, collect the other
generations, and fail the run when a registry is missing, so the DAG's final state says what the
manifest says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import ecr_provider
from ecr_provider.core.columns import reports_written
from ecr_provider.core.layout import plan_key, run_manifest_key
from ecr_provider.core.run_manifest import RunRecord, target_outcomes
from ecr_provider.core.run_plan import check_plan
from ecr_provider.core.settings import check_as_of, check_database, check_flag
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.hooks.report_lake import ReportLakeHook, publication
from ecr_provider.operators.base_lake import ReportLakeOperator, lake_template_fields
from ecr_provider.version_compat import AirflowFailException, AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context


class RunManifestOperator(ReportLakeOperator[ReportLakeHook]):
    """
    Write the run's manifest and make its generation the date's visible one, after every report task.

    Until this task switches, readers see the date's previous state: the Glue partitions and the
    date's manifest ``{prefix}/_runs/report_date=YYYY-MM-DD/manifest.json`` name the previous
    generation, and the report tasks wrote only under this run's (the plan names it). In order:

    1. objects of registries that failed are deleted from this run's generation, so a failed registry
       contributes nothing to it (a registry may fail after writing some of its objects);
    2. the run's manifest is written beside its generation
       (``_runs/report_date=…/generation=G/manifest.json``), naming what loaded and what failed;
    3. the generation becomes visible when the run is complete, or when the date has no complete
       state to keep: the Glue partitions of the reports the run wrote move to it (``database``; one
       update per partition), then the date's manifest is replaced by the run's, last. In between,
       Athena reads the new generation while the pages still show the previous one, marked as being
       rewritten. An incomplete run over a complete date leaves that date as it was;
    4. the objects of every other generation of those reports are deleted (the previous one once the
       new one is visible; this run's when it was not made visible; those of killed runs), and the
       run's in-progress mark removed;
    5. an incomplete run fails this task (no retry: retrying cannot bring a failed registry back).

    Run it with ``trigger_rule=all_done`` so it runs when report tasks failed. The asset event of a
    complete date comes from the task that writes its page
    (:class:`~ecr_provider.operators.html_report.HtmlReportOperator`), after this one.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.

    :param as_of: ISO-8601 as-of time of the run (templated)
    :param include_findings: whether the run wrote image_findings; without, that report's partition of
        the date stays where it is (templated)
    :param database: Glue database whose partitions are switched to the visible generation; empty for
        none (templated)

    The registries are the run plan's (``_runs/report_date=…/plan.json``); each report task recorded its
    registries' outcomes under ``_runs/report_date=…/outcomes/`` (see
    :class:`~ecr_provider.operators.registry_report.EcrRegistryReportOperator`): a listing and one read
    per task. A registry without an outcome of this run counts as failed.
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = lake_template_fields("as_of", "include_findings", "database")

    def __init__(
        self,
        *,
        as_of: str,
        include_findings: bool | str = False,
        database: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.include_findings = include_findings
        self.as_of = as_of
        self.database = database

    def execute(self, context: Context) -> dict[str, Any]:
        bucket, prefix, report_date = self.lake_location()
        as_of = check_as_of(self.as_of, now=datetime.now(UTC))
        reports = reports_written(check_flag(self.include_findings, "include_findings"))
        database = check_database(self.database) if self.database else ""
        lake = self.hook
        run_id = context["run_id"]
        where = f"s3://{bucket}/{plan_key(prefix, report_date)}"
        plan = check_plan(lake.read_json(bucket, plan_key(prefix, report_date)), run_id, where)
        generation = plan["generation"]
        record = RunRecord(
            report_date=report_date,
            as_of=as_of.isoformat(),
            code_version=ecr_provider.__version__,
            targets=target_outcomes(
                [RegistryTarget.of(target) for target in plan["targets"]],
                lake.run_outcomes(bucket, prefix, report_date, plan),
            ),
        )
        published = lake.publish_generation(
            bucket,
            prefix,
            report_date,
            record=record,
            reports=reports,
            generation=generation,
            prices=plan["prices"],
            run_id=run_id,
            # Glue is reached only when the date switches: a run that does not switch never touches it
            register=(
                lambda: self.catalog_hook().register_report_date(
                    database, bucket, prefix, report_date, reports, generation=generation
                )
            )
            if database
            else None,
        )
        self.log.info(
            "Run manifest s3://%s/%s: %d of %d registries loaded, %d object(s) of failed registries "
            "removed; generation %s %s; %d object(s) of other generations deleted",
            bucket,
            published.manifest_key,
            len(record.targets) - len(record.failed),
            len(record.targets),
            len(published.removed),
            generation,
            publication(published),
            len(published.collected),
        )
        if published.superseded_by is not None:
            raise AirflowSkipException(
                f"Report date {report_date} is being written or shown by a newer run (generation "
                f"{published.superseded_by}); this run's generation {generation} is not shown and its "
                "objects are deleted, so the page, the alert and the asset event are left to that run."
            )
        if not record.complete:
            state = (
                "it is the date's visible state, marked incomplete"
                if published.shown
                else "the date's previous complete state stays visible"
            )
            raise AirflowFailException(
                f"Report date {report_date} is incomplete: {record.gaps()}. The manifest "
                f"s3://{bucket}/{published.manifest_key} records it; {state}. Rerun the date once fixed."
            )
        return {"manifest_key": run_manifest_key(prefix, report_date), "generation": generation}
