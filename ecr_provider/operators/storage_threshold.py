"""Decide once whether the run's notification goes out: the repositories whose billable storage is over
their threshold, from the outcomes the report tasks recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ecr_provider.core.alert import BreachesRecord
from ecr_provider.core.layout import breaches_key
from ecr_provider.core.thresholds import Breach, largest_first
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.base_lake import ReportLakeOperator, lake_template_fields
from ecr_provider.operators.usage import read_plan
from ecr_provider.version_compat import AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context


class RepositoriesOverThresholdOperator(ReportLakeOperator[ReportLakeHook]):
    """
    Find the repositories of the run that are over their threshold, from the outcomes its report tasks
    recorded (a listing and one read per task, not a read of every registry's report).

    The outcomes are all written when this task runs, so it decides once; it never waits. Some over
    threshold: they go to ``{prefix}/_notifications/report_date=…/breaches.json`` for the notifier and
    only their number to XCom. None over: the task skips, so the notification is skipped and the run
    still succeeds. A registry that failed has no outcome: the alert covers those that reported.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = lake_template_fields()

    def execute(self, context: Context) -> dict[str, Any]:
        lake = self.lake_location()
        bucket, prefix, report_date = lake
        plan = read_plan(self.hook, lake, context["run_id"])
        outcomes = self.hook.run_outcomes(bucket, prefix, report_date, plan)
        breaches = largest_first(
            Breach.from_record(record) for outcome in outcomes.values() for record in outcome["breaches"]
        )
        if not breaches:
            loaded = sum(outcome["summary"] is not None for outcome in outcomes.values())
            raise AirflowSkipException(
                f"No repository is over its storage threshold ({loaded} registries reported)"
            )
        key = breaches_key(prefix, report_date, plan["generation"])
        self.hook.write_json(
            bucket,
            key,
            BreachesRecord(run_id=context["run_id"], breaches=[breach.as_record() for breach in breaches]),
        )
        self.log.info(
            "%d repositories over threshold (s3://%s/%s): %s",
            len(breaches),
            bucket,
            key,
            ", ".join(breach.identity for breach in breaches[:20]),
        )
        return {"breaches": len(breaches)}
