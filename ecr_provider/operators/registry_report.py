"""Report the registries of one batch of the run plan: each registry's reports to S3, one object per
report, and its outcome (with its repositories over threshold) beside the plan for the tasks after."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
from airflow.sdk.exceptions import AirflowException
from botocore.config import Config

from ecr_provider.aws.ecr import pool_size
from ecr_provider.aws.errors import aws_call
from ecr_provider.aws.pricing import PRICING_REGION
from ecr_provider.aws.registry import open_registry
from ecr_provider.core.cleanup import (
    DEFAULT_RECLAIM_AFTER_DAYS,
    check_protected_tag_patterns,
    check_reclaim_after_days,
)
from ecr_provider.core.columns import REPOSITORIES_REPORT
from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.layout import outcomes_key, partition_prefix
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.phase_times import OUTCOME, UPLOAD, PhaseTimes
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.repeated_causes import grouped_warnings
from ecr_provider.core.run_manifest import (
    FAILED,
    LOADED,
    OutcomeRecord,
    RegistrySummary,
    check_loaded,
    error_line,
)
from ecr_provider.core.run_plan import TaskOutcomes, planned_outcomes, prices_of
from ecr_provider.core.settings import (
    DEFAULT_FINDINGS_MAX_AGE_DAYS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REQUESTS_PER_SECOND,
    MAX_CONCURRENCY_LIMIT,
    check_as_of,
    check_concurrency,
    check_findings_max_age_days,
    whole_number,
)
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.core.thresholds import ThresholdPolicy, find_breaches
from ecr_provider.hooks.ecr_registry import EcrRegistryHook
from ecr_provider.hooks.report_lake import ReportLakeHook, S3ManifestCache
from ecr_provider.links.reports import ReportObjectsLink
from ecr_provider.operators.base_lake import LakeLocation, ReportLakeOperator, lake_template_fields
from ecr_provider.operators.usage import RunUsage, read_plan
from ecr_provider.report_files import write_registry_report
from ecr_provider.task_folder import task_folder

if TYPE_CHECKING:
    from airflow.sdk import Context


@dataclass(frozen=True, slots=True)
class _BatchSettings:
    """What every registry of the batch is reported with."""

    lake: LakeLocation
    as_of: datetime
    options: RegistryOptions
    thresholds: ThresholdPolicy
    prices: dict[str, StoragePrices]
    generation: str
    usage: RunUsage
    hooks: dict[str | None, EcrRegistryHook] = field(default_factory=dict)
    """One hook per account (its role, None for the connection's own), so one set of credentials."""


class EcrRegistryReportOperator(ReportLakeOperator[ReportLakeHook]):
    """
    Report the registries of batch ``batch`` of the run plan, one after the other.

    For each registry (an account in a region, read through its role when it has one) the use of its
    images is joined from what the run's usage tasks (``EcrUsageOperator``) wrote of it from every
    source, and the repositories and images reports, and image_findings when ``include_findings``,
    stream from ECR to local files and from there to S3, under the run's generation of the date (the
    plan names it): readers see none of them before the run manifest makes the generation visible. Its
    outcome, loaded with its counts and the repositories over their threshold, or failed with the error
    that names the denied action, is added to ``{prefix}/_runs/report_date=YYYY-MM-DD/outcomes/{batch}.json``
    as soon as it is known. A registry that fails does not stop the batch; the task fails at its end,
    and its retry reports only the registries this run has not loaded yet. Only small counts go to XCom.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.

    :param batch: the batch of the run plan (``EcrRunPlanOperator``) to report (templated)
    :param as_of: ISO-8601 time the "days since" columns are measured to (templated)
    :param max_concurrency: repositories of a registry read at once (templated)
    :param read_manifests: ``if-excluded`` (read manifests for unique-blob storage only when the
        reporting principal is excluded from pull-time updates), ``always`` (accept that pull times
        move) or ``never`` (templated)
    :param include_findings: also write the image_findings report, one row per finding (templated)
    :param findings_max_age_days: that report lists images pushed or pulled within this many days
        (templated)
    :param max_requests_per_second: ceiling on the requests sent to each registry, 0 for none (templated)
    :param reclaim_after_days: an image not in use is reclaimable once neither pulled nor pushed for
        this many days (templated)
    :param protected_tag_patterns: glob patterns; an image with a matching tag is never reclaimable
        (templated)
    :param storage_threshold_gb: threshold of every repository, in GB (2^30 bytes) (templated)
    :param repository_thresholds_gb: glob pattern -> GB; the last matching pattern wins (templated)

    Registries are read with the connection's credentials, through each target's role when it has one
    (refreshable credentials, the connection's ``assume_role_kwargs`` applied); S3 is written with the
    connection's own, so one bucket collects every account.
    """

    aws_hook_class = ReportLakeHook
    operator_extra_links = (ReportObjectsLink(),)
    template_fields: Sequence[str] = lake_template_fields(
        "batch",
        "as_of",
        "max_concurrency",
        "read_manifests",
        "include_findings",
        "findings_max_age_days",
        "max_requests_per_second",
        "reclaim_after_days",
        "protected_tag_patterns",
        "storage_threshold_gb",
        "repository_thresholds_gb",
    )
    ui_color = "#f7a35c"

    def __init__(
        self,
        *,
        as_of: str,
        batch: int | str = 0,
        max_concurrency: int | str = DEFAULT_MAX_CONCURRENCY,
        read_manifests: str = "if-excluded",
        include_findings: bool = False,
        findings_max_age_days: int | str = DEFAULT_FINDINGS_MAX_AGE_DAYS,
        max_requests_per_second: float | str | None = DEFAULT_REQUESTS_PER_SECOND,
        reclaim_after_days: int | str = DEFAULT_RECLAIM_AFTER_DAYS,
        protected_tag_patterns: Sequence[str] = (),
        storage_threshold_gb: float | str = 50,
        repository_thresholds_gb: Mapping[str, float | str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch = batch
        self.as_of = as_of
        self.max_concurrency = max_concurrency
        self.read_manifests = read_manifests
        self.include_findings = include_findings
        self.findings_max_age_days = findings_max_age_days
        self.max_requests_per_second = max_requests_per_second
        self.reclaim_after_days = reclaim_after_days
        self.protected_tag_patterns = protected_tag_patterns
        self.storage_threshold_gb = storage_threshold_gb
        self.repository_thresholds_gb = repository_thresholds_gb
        if isinstance(max_concurrency, int):
            check_concurrency(max_concurrency)
        if isinstance(findings_max_age_days, int):
            check_findings_max_age_days(findings_max_age_days)
        if isinstance(reclaim_after_days, int):
            check_reclaim_after_days(reclaim_after_days)
        if isinstance(protected_tag_patterns, list | tuple):
            check_protected_tag_patterns(protected_tag_patterns)

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        # The manifest cache is read and written from every reader thread.
        return {
            **super()._hook_parameters,
            "tuning": Config(max_pool_connections=pool_size(MAX_CONCURRENCY_LIMIT)),
        }

    def _pricing_client(self) -> Any:
        """Only when the plan lacks a region: the Price List API answers in us-east-1 for every region."""
        return AwsGenericHook(
            aws_conn_id=self.aws_conn_id,
            client_type="pricing",
            region_name=PRICING_REGION,
            verify=self.verify,
        ).conn

    def _own_account(self) -> str:
        with aws_call("sts"):
            return str(self.hook.account_id)

    def execute(self, context: Context) -> dict[str, int]:
        started = time.perf_counter()
        lake = self.lake_location()
        options = RegistryOptions.parse(
            read_manifests=self.read_manifests,
            max_concurrency=self.max_concurrency,
            include_findings=self.include_findings,
            findings_max_age_days=self.findings_max_age_days,
            max_requests_per_second=self.max_requests_per_second,
            reclaim_after_days=self.reclaim_after_days,
            protected_tag_patterns=self.protected_tag_patterns,
        )
        thresholds = ThresholdPolicy.from_params(self.storage_threshold_gb, self.repository_thresholds_gb)
        as_of = check_as_of(self.as_of, now=datetime.now(UTC))
        run_id = context["run_id"]
        ReportObjectsLink.persist(
            context=context,
            operator=self,
            region_name=self.hook.conn_region_name,
            aws_partition=self.hook.conn_partition,
            bucket=lake.bucket,
            prefix=partition_prefix(lake.prefix, REPOSITORIES_REPORT, lake.report_date),
        )
        plan = read_plan(self.hook, lake, run_id)
        batch = whole_number(self.batch)
        if not isinstance(batch, int) or not 0 <= batch < len(plan["batches"]):
            raise ValueError(f"batch {self.batch!r} is not one of the plan's {len(plan['batches'])} batches")
        key = outcomes_key(lake.prefix, lake.report_date, batch)
        loaded = {
            outcome["index"]: outcome
            for outcome in planned_outcomes(self.hook.read_json(lake.bucket, key), plan)
            if outcome["status"] == LOADED
        }
        if loaded:
            self.log.info("Keeping %d registries this run already loaded (a retry)", len(loaded))
        usage = RunUsage.load(self.hook, lake, run_id, plan, self._own_account)
        run = _BatchSettings(lake, as_of, options, thresholds, prices_of(plan), plan["generation"], usage)
        outcomes: list[OutcomeRecord] = []
        with grouped_warnings():
            for index in plan["batches"][batch]:
                target = RegistryTarget.of(plan["targets"][index])
                phases = PhaseTimes()
                outcome = loaded.get(index) or self._report(index, target, run, phases)
                outcomes.append(outcome)
                self.hook.write_json(
                    lake.bucket,
                    key,
                    TaskOutcomes(run_id=run_id, generation=plan["generation"], outcomes=outcomes),
                )
                phases.mark(OUTCOME)
                self.log.info(
                    "Registry %s phases: %s; outcome written %.2f s after the task started",
                    target.label,
                    phases.line(),
                    time.perf_counter() - started,
                )
        failed = [outcome for outcome in outcomes if outcome["status"] == FAILED]
        if failed:
            raise AirflowException(
                f"{len(failed)} of {len(outcomes)} registries of batch {batch} failed: "
                + "; ".join(f"{RegistryTarget.of(o['target']).label}: {o['error']}" for o in failed)
            )
        # A registry whose findings could not be read loaded its summaries: the gap still fails the task.
        summaries = [
            check_loaded(outcome["summary"]) for outcome in outcomes if outcome["summary"] is not None
        ]
        return {
            "batch": batch,
            "registries": len(outcomes),
            "repositories": sum(summary["repositories"] for summary in summaries),
            "images": sum(summary["images"] for summary in summaries),
            "breaches": sum(len(outcome["breaches"]) for outcome in outcomes),
        }

    def _report(
        self, index: int, target: RegistryTarget, run: _BatchSettings, phases: PhaseTimes
    ) -> OutcomeRecord:
        """One registry, its failure caught and named so the batch goes on; its set-up, read,
        transform, write and upload timed in ``phases``."""
        outcome = OutcomeRecord(
            index=index,
            target=target.as_operator_kwargs(),
            status=FAILED,
            summary=None,
            error=None,
            breaches=[],
        )
        registry = run.hooks.get(target.role_arn) or run.hooks.setdefault(
            target.role_arn,
            EcrRegistryHook(
                aws_conn_id=self.aws_conn_id,
                region_name=target.region,
                role_arn=target.role_arn,
                max_concurrency=run.options.max_concurrency,
                verify=self.verify,
                config=self.botocore_config,
            ),
        )
        try:
            clients = registry.registry_clients(target.region)
            previous = self.hook.previous_report(
                run.lake.bucket,
                run.lake.prefix,
                report_date=run.lake.report_date,
                account_id=clients.account_id,
                region=clients.region,
            )
            self.log.info(
                "Registry %s: trend columns compare with %s",
                clients.label,
                previous.report_date if previous else "nothing (first report)",
            )
            opened = open_registry(
                clients,
                run.options,
                as_of=run.as_of,
                manifest_cache=S3ManifestCache(self.hook, run.lake.bucket, run.lake.prefix),
                pricing_client=self._pricing_client,
                price_cache=run.prices,
                previous=previous,
                usage=run.usage.of((clients.account_id, clients.region)),
            )
            with task_folder() as workdir:  # a killed task's folder is reclaimed by the next task
                report = write_registry_report(
                    [opened],
                    workdir,
                    progress=lambda state: self.log.info("Progress of %s: %s", clients.label, state.line()),
                    phases=phases,
                )
                keys = self.hook.write_registry_objects(
                    run.lake.bucket,
                    run.lake.prefix,
                    run.lake.report_date,
                    generation=run.generation,
                    account_id=clients.account_id,
                    region=clients.region,
                    files=report.files,
                )
                phases.mark(UPLOAD)
                with report.files[REPOSITORIES_REPORT].open(encoding="utf-8", newline="") as rows:
                    breaches = find_breaches(read_canonical(rows), run.thresholds)
        except Exception as error:
            self.log.exception("Registry %s failed", target.label)
            outcome["error"] = error_line(error)
            return outcome
        summary: RegistrySummary = report.summary(
            clients.account_id, clients.region, run.lake.report_date, keys
        )
        self.log.info(
            "Registry %s: %d repositories (%d over threshold), %d images, USD %s per month; %d skipped; "
            "ECR calls: %s",
            clients.label,
            summary["repositories"],
            len(breaches),
            summary["images"],
            summary["monthly_cost_usd"],
            len(report.skipped),
            opened.reader.calls.summary(),
        )
        outcome["status"] = LOADED
        outcome["summary"] = summary
        outcome["breaches"] = [breach.as_record() for breach in breaches]
        return outcome
