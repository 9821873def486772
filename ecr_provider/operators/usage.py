"""Read which images run in the sources of one batch of the run plan, and write what each source runs
to S3 grouped by the registry the images are in, so every registry's report joins the use of its
images from every account and region of the run, however large the organisation (never XCom)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecr_provider.aws.rate_limit import pace_registry
from ecr_provider.aws.usage import USAGE_SERVICES, UsageReader
from ecr_provider.core.layout import (
    eks_usage_key,
    eks_usage_prefix,
    plan_key,
    unknown_usage_key,
    unknown_usage_prefix,
    usage_group_key,
    usage_group_prefix,
)
from ecr_provider.core.repeated_causes import grouped_warnings
from ecr_provider.core.run_manifest import error_line
from ecr_provider.core.run_plan import RunPlan, check_plan, usage_sources, written_by
from ecr_provider.core.settings import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REQUESTS_PER_SECOND,
    check_concurrency,
    check_request_rate,
    whole_number,
)
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.core.usage import (
    EKS_SOURCE,
    RUNTIMES,
    Registry,
    RegistryUsage,
    UnseenEks,
    join_usage,
    usage_of_record,
    with_eks,
)
from ecr_provider.hooks.ecr_registry import EcrRegistryHook
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.base_lake import LakeLocation, ReportLakeOperator, lake_template_fields

if TYPE_CHECKING:
    from airflow.sdk import Context

OWN_ACCOUNT = "own"
"""How an unknown record's key names the connection's own account, when its id could not be read."""


class EcrUsageOperator(ReportLakeOperator[ReportLakeHook]):
    """
    Read which images run in the sources of batch ``batch`` of the run plan: the accounts and regions
    of its registries, and its share of the plan's workload accounts (``workload_accounts``).

    Each source's ECS tasks and services, Lambda functions and EKS pods are read with the source's own
    identity (its role, as its registry's report reads it; one hook per account, so one set of
    credentials for its regions), and every ECR image they name is kept with its full registry: what a
    source runs of registry ``R`` is written to
    ``{prefix}/_runs/report_date=YYYY-MM-DD/usage/{R account}-{R region}/{account}-{region}.json``, the
    source's own registry always (so its report knows it was read). A source whose reads failed (denied,
    a role that cannot be assumed) is recorded under ``usage/_unknown/``: no registry of the run then
    calls an image reclaimable on usage grounds, as an image may run there. A source with EKS clusters
    is recorded under ``usage/_eks/`` (the clusters whose pods were not read, if any: their use is not
    visible to the registries they could pull from). A warning repeated across the task's sources (ECS,
    Lambda or EKS denied) is logged once per task. Only counts go to XCom.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.

    :param batch: the batch of the run plan (``EcrRunPlanOperator``) whose sources are read (templated)
    :param max_concurrency: clusters and functions of a source read at once (templated)
    :param max_requests_per_second: ceiling on the requests sent to each source, 0 for none (templated)
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = lake_template_fields(
        "batch", "max_concurrency", "max_requests_per_second"
    )
    ui_color = "#f7c59f"

    def __init__(
        self,
        *,
        batch: int | str = 0,
        max_concurrency: int | str = DEFAULT_MAX_CONCURRENCY,
        max_requests_per_second: float | str | None = DEFAULT_REQUESTS_PER_SECOND,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch = batch
        self.max_concurrency = max_concurrency
        self.max_requests_per_second = max_requests_per_second
        if isinstance(max_concurrency, int):
            check_concurrency(max_concurrency)

    def execute(self, context: Context) -> dict[str, int]:
        lake = self.lake_location()
        concurrency = check_concurrency(whole_number(self.max_concurrency))
        ceiling = check_request_rate(self.max_requests_per_second)
        run_id = context["run_id"]
        plan = read_plan(self.hook, lake, run_id)
        batch = whole_number(self.batch)
        if not isinstance(batch, int) or not 0 <= batch < len(plan["batches"]):
            raise ValueError(f"batch {self.batch!r} is not one of the plan's {len(plan['batches'])} batches")
        sources = usage_sources(plan, batch)
        stamp = {"run_id": run_id, "generation": plan["generation"]}
        registries = len(plan["batches"][batch])  # the first sources; the rest are workload accounts
        unknown = 0
        groups = 0
        hooks: dict[str | None, EcrRegistryHook] = {}  # one per account (its role), so one set of credentials
        with grouped_warnings("accounts and regions of this task"):
            for index, target in enumerate(sources):
                hook = hooks.get(target.role_arn) or hooks.setdefault(
                    target.role_arn,
                    EcrRegistryHook(
                        aws_conn_id=self.aws_conn_id,
                        region_name=target.region,
                        role_arn=target.role_arn,
                        max_concurrency=concurrency,
                        verify=self.verify,
                        config=self.botocore_config,
                    ),
                )
                try:  # the usage services only: building a client costs more than an empty account's reads
                    clients = hook.registry_clients(target.region)
                    pace = pace_registry(ceiling)
                    for service in USAGE_SERVICES:
                        pace.attach(clients.client(service))
                    reader = UsageReader(clients.client, hook.account_id, target.region, concurrency)
                    read = reader.read_source()
                except Exception as error:
                    self.log.exception("Usage in %s could not be read", target.label)
                    self._write_unknown(lake, stamp, target, [error_line(error)], RUNTIMES)
                    unknown += 1
                    continue
                found = dict(read.groups)
                if index < registries:
                    found.setdefault(read.source, RegistryUsage())
                for registry, usage in found.items():
                    key = usage_group_key(lake.prefix, lake.report_date, registry, read.source)
                    record = {**stamp, "source": list(read.source), **usage.as_record()}
                    self.hook.write_json(lake.bucket, key, record)
                groups += len(found)
                if read.unknown:
                    failed = tuple(runtime for runtime in RUNTIMES if runtime not in read.sources)
                    self._write_unknown(lake, stamp, target, list(read.unknown), failed)
                    unknown += 1
                if read.unseen_eks or EKS_SOURCE in read.sources:
                    record = {
                        **stamp,
                        "read": EKS_SOURCE in read.sources,
                        "unseen": [each.as_record() for each in read.unseen_eks],
                    }
                    key = eks_usage_key(lake.prefix, lake.report_date, read.source)
                    self.hook.write_json(lake.bucket, key, record)
                self.log.info(
                    "Usage in %s: images of %d registries (%s)",
                    target.label,
                    len(read.groups),
                    ", ".join(f"{account}/{region}" for account, region in read.groups) or "none",
                )
        return {"batch": batch, "sources": len(sources), "groups": groups, "unknown": unknown}

    def _write_unknown(
        self,
        lake: LakeLocation,
        stamp: Mapping[str, str],
        target: RegistryTarget,
        errors: list[str],
        runtimes: Sequence[str],
    ) -> None:
        """``account`` None: the connection's own account, as in the plan; ``runtimes`` those not read."""
        source = (target.account_id or OWN_ACCOUNT, target.region)
        record = {
            **stamp,
            "account": target.account_id,
            "source": target.label,
            "errors": errors,
            "runtimes": list(runtimes),
        }
        self.hook.write_json(lake.bucket, unknown_usage_key(lake.prefix, lake.report_date, source), record)


def read_plan(hook: ReportLakeHook, lake: LakeLocation, run_id: str) -> RunPlan:
    where = plan_key(lake.prefix, lake.report_date)
    return check_plan(hook.read_json(lake.bucket, where), run_id, lake.url(where))


@dataclass(frozen=True, slots=True)
class RunUsage:
    """What a report task needs of the run's usage: the sources whose use is unknown, the accounts
    read, and the runtimes read in every source (``sources``); :meth:`of` joins one registry's groups."""

    hook: ReportLakeHook
    lake: LakeLocation
    run_id: str
    generation: str
    unknown: tuple[str, ...]
    read_accounts: frozenset[str]
    sources: tuple[str, ...] = RUNTIMES
    unseen_eks: tuple[UnseenEks, ...] = ()

    @classmethod
    def load(
        cls,
        hook: ReportLakeHook,
        lake: LakeLocation,
        run_id: str,
        plan: RunPlan,
        own_account: Callable[[], str],
    ) -> RunUsage:
        """One listing each of the unknown and the EKS records; ``own_account`` is asked only when the
        plan has sources of the connection's own account."""
        sources = [RegistryTarget.of(params) for params in (*plan["targets"], *plan["workloads"])]
        accounts = {source.account_id or own_account() for source in sources}
        unknown: list[str] = []
        failed: set[str] = set()
        not_read: set[str] = set()
        for key in hook.keys_under(lake.bucket, unknown_usage_prefix(lake.prefix, lake.report_date)):
            record = hook.read_json(lake.bucket, key)
            if record is not None and written_by(record, run_id, plan["generation"]):
                unknown.extend(f"{record['source']}: {error}" for error in record["errors"])
                failed.add(record["account"] or own_account())
                not_read.update(record.get("runtimes", RUNTIMES))
        eks_read = False
        unseen: list[UnseenEks] = []
        for key in hook.keys_under(lake.bucket, eks_usage_prefix(lake.prefix, lake.report_date)):
            record = hook.read_json(lake.bucket, key)
            if record is not None and written_by(record, run_id, plan["generation"]):
                eks_read = eks_read or bool(record["read"])
                unseen.extend(UnseenEks(*each) for each in record["unseen"])
        runtimes = [runtime for runtime in RUNTIMES if runtime not in not_read]
        return cls(
            hook,
            lake,
            run_id,
            plan["generation"],
            tuple(unknown),
            frozenset(accounts - failed),
            with_eks(runtimes, eks_read=eks_read, eks_unseen=bool(unseen)),
            tuple(sorted(unseen)),
        )

    def of(self, registry: Registry) -> RegistryUsage:
        """The registry's use from every source of this run; unknown when its own account and region
        was not read by this run (its usage task did not write it)."""
        prefix = usage_group_prefix(self.lake.prefix, self.lake.report_date, *registry)
        groups: list[RegistryUsage] = []
        own_read = False
        for key in self.hook.keys_under(self.lake.bucket, prefix):
            record = self.hook.read_json(self.lake.bucket, key)
            if record is None or not written_by(record, self.run_id, self.generation):
                continue
            own_read = own_read or tuple(record["source"]) == registry
            groups.append(usage_of_record(record))
        unknown = list(self.unknown)
        if not own_read:
            unknown.append(f"{registry[0]}/{registry[1]}: not read by this run's usage task")
        sources = self.sources if own_read else ()
        return join_usage(
            groups,
            unknown=unknown,
            read_accounts=self.read_accounts,
            sources=sources,
            unseen_eks=self.unseen_eks,
        )
