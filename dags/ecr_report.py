"""
### ECR report

Daily cost, usage and vulnerability reports of Amazon ECR registries, loaded to S3 and
registered in Athena; one SNS alert per run when repositories are over their storage threshold.

A preflight first checks where the run writes (bucket and KMS key, alert topic, Glue database) and
fails the run at once, naming what is missing, before any registry is read. Then the run is planned
in S3: every registry (account x region), in batches, and the storage prices of every region. One
mapped usage task per batch reads which images run in its accounts and regions (and its share of the
workload accounts) and writes it to S3 grouped by the registry the images are in; then one mapped
task per batch reports its registries one after the other, each joining its images' use from every
source; a registry that fails fails its
batch's task only after the batch's other registries loaded, the date's partitions are still
registered for what landed, the alert covers the registries that reported, and the run ends failed
so the gap is visible.

The report tasks run in the Airflow pool named by the environment variable ``ECR_REPORT_POOL`` when
the DAG is parsed (``default_pool`` without it); create one to bound how many run at once.

Scheduled runs take their settings from the Airflow Variable ``ecr_report_config`` (a JSON
object with the param names below; also settable as ``AIRFLOW_VAR_ECR_REPORT_CONFIG``).
A manual trigger's params override it for that run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, Param, TriggerRule, Variable, get_current_context, task

from ecr_provider.aws.regions import ecr_regions
from ecr_provider.core.settings import (
    CONFIG_VARIABLE,
    REPORT_DATE_PARAM,
    SETTINGS,
    DatedSettings,
    resolve_dated_settings,
)
from ecr_provider.operators.athena_named_queries import AthenaNamedQueriesOperator
from ecr_provider.operators.athena_partitions import AthenaReportPartitionsOperator
from ecr_provider.operators.html_report import HtmlReportOperator
from ecr_provider.operators.preflight import ReportLakePreflightOperator
from ecr_provider.operators.registry_report import EcrRegistryReportOperator
from ecr_provider.operators.run_manifest import RunManifestOperator
from ecr_provider.operators.run_plan import EcrRunPlanOperator
from ecr_provider.operators.storage_threshold import RepositoriesOverThresholdOperator
from ecr_provider.operators.threshold_notification import StorageThresholdAlertOperator
from ecr_provider.operators.usage import EcrUsageOperator
from ecr_provider.version_compat import AirflowFailException

REPORT_COMPLETE = Asset("ecr_report_complete")
"""Updated when a report date is complete and its page written: schedule a downstream DAG on it
(``schedule=[REPORT_COMPLETE]``); its event's extra names the date, the run manifest, the reports and
the page."""
REPORT_POOL = os.environ.get("ECR_REPORT_POOL", "default_pool")
REPORT_TASKS_AT_ONCE = 8
"""Report tasks of one run at once: eight registries read at a time, each at its own request ceiling."""
REPORT_TASK_TIMEOUT = timedelta(hours=6)
"""A batch that takes longer is stuck, not slow: its registries' outcomes so far are kept for the retry."""

with DAG(
    dag_id="ecr_report",
    description="Amazon ECR cost, usage and vulnerability reports to S3 and Athena",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["aws", "ecr", "finops", "security"],
    doc_md=__doc__,
    params={
        **{s.name: Param(None, description=s.form_description, **s.form_schema) for s in SETTINGS},
        REPORT_DATE_PARAM.name: Param(
            None, description=REPORT_DATE_PARAM.description, **REPORT_DATE_PARAM.form_schema
        ),
    },
) as dag:

    @task(multiple_outputs=True)
    def resolve_settings() -> DatedSettings:
        """Before any AWS call: a bad value fails the run at once, naming every bad value; no retry
        can fix a typo."""
        context = get_current_context()
        try:
            return resolve_dated_settings(
                Variable.get(CONFIG_VARIABLE, default=""),
                context["dag_run"].conf or {},  # the params a run was triggered with; a form sends all
                interval_end=context.get("data_interval_end"),
                run_after=context["dag_run"].run_after,
                known_regions=ecr_regions(),
            )
        except ValueError as error:
            raise AirflowFailException(f"Invalid settings: {error}") from None

    run: Any = resolve_settings()  # XComArg: indexing pulls the multiple_outputs keys
    connection = {"aws_conn_id": run["aws_conn_id"]}
    lake = {  # where every task reads and writes the reports
        **connection,
        "report_bucket": run["report_bucket"],
        "report_prefix": run["report_prefix"],
        "report_date": run["report_date"],
        "report_kms_key_id": run["report_kms_key_id"],
    }

    preflight = ReportLakePreflightOperator(
        task_id="preflight",
        **lake,
        database=run["athena_database"],
        sns_topic_arn=run["sns_topic_arn"],
    )

    batches = EcrRunPlanOperator(
        task_id="registry_targets",
        **lake,
        regions=run["regions"],
        accounts=run["accounts"],
        role_name=run["role_name"],
        discover_accounts=run["discover_accounts"],
        workload_accounts=run["workload_accounts"],
        discover_workload_accounts=run["discover_workload_accounts"],
        price_per_gb_month=run["price_per_gb_month"],
        batch_size=run["batch_size"],
    )

    usage: Any = EcrUsageOperator.partial(
        task_id="usage",
        **lake,
        max_concurrency=run["max_concurrency"],
        max_requests_per_second=run["max_requests_per_second"],
        pool=REPORT_POOL,
        max_active_tis_per_dagrun=REPORT_TASKS_AT_ONCE,
        execution_timeout=REPORT_TASK_TIMEOUT,
    ).expand(batch=batches.output)

    registry_reports: Any = EcrRegistryReportOperator.partial(
        task_id="registry_report",
        **lake,
        as_of=run["as_of"],
        max_concurrency=run["max_concurrency"],
        read_manifests=run["read_manifests"],
        include_findings=run["include_findings"],
        findings_max_age_days=run["findings_max_age_days"],
        max_requests_per_second=run["max_requests_per_second"],
        reclaim_after_days=run["reclaim_after_days"],
        protected_tag_patterns=run["protected_tag_patterns"],
        storage_threshold_gb=run["storage_threshold_gb"],
        repository_thresholds_gb=run["repository_thresholds_gb"],
        pool=REPORT_POOL,
        max_active_tis_per_dagrun=REPORT_TASKS_AT_ONCE,
        execution_timeout=REPORT_TASK_TIMEOUT,
    ).expand(batch=batches.output)

    partitions = AthenaReportPartitionsOperator(
        task_id="register_partitions",
        **lake,
        database=run["athena_database"],
        trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,
    )

    named_queries = AthenaNamedQueriesOperator(
        task_id="register_named_queries",
        database=run["athena_database"],
        **connection,
    )

    over_threshold = RepositoriesOverThresholdOperator(
        task_id="storage_over_threshold",
        **lake,
        trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,
    )

    notify = StorageThresholdAlertOperator(
        task_id="notify_over_threshold",
        **lake,
        sns_topic_arn=run["sns_topic_arn"],
        force_resend=run["force_resend_notification"],
    )

    run_manifest = RunManifestOperator(  # makes the run's generation visible: partitions, then manifest
        task_id="run_manifest",
        **lake,
        database=run["athena_database"],
        as_of=run["as_of"],
        include_findings=run["include_findings"],
        trigger_rule=TriggerRule.ALL_DONE,
        retries=0,
    )

    html_report = HtmlReportOperator(
        task_id="html_report",
        **lake,
        storage_threshold_gb=run["storage_threshold_gb"],
        repository_thresholds_gb=run["repository_thresholds_gb"],
        outlets=[REPORT_COMPLETE],
    )

    preflight >> batches
    usage >> registry_reports  # every report joins the use read in every source of the run
    registry_reports >> partitions >> named_queries
    registry_reports >> over_threshold >> notify
    partitions >> run_manifest  # every leaf's failure fails the run: the manifest's and the alert's
    run_manifest >> html_report  # a complete date's page, its trend point from the manifest just written
