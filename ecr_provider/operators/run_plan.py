"""Plan a run: its registries (account x region), their batches and the storage prices, written once
to S3, so the mapped report tasks take only a batch number and however large the organisation, the
number of mapped tasks stays under Airflow's ``max_map_length``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook

from ecr_provider.aws.errors import aws_call
from ecr_provider.aws.organizations import active_account_ids
from ecr_provider.aws.pricing import PRICING_REGION, resolve_storage_prices
from ecr_provider.aws.regions import ecr_regions
from ecr_provider.core.layout import plan_key
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.run_plan import (
    RunPlan,
    plan_batches,
    prices_record,
    unique_registries,
    workload_sources,
)
from ecr_provider.core.settings import (
    DEFAULT_BATCH_SIZE,
    check_batch_size,
    check_price,
    check_regions,
    whole_number,
)
from ecr_provider.core.targets import check_accounts, check_role_name, plan_targets
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.base_lake import ReportLakeOperator, lake_template_fields
from ecr_provider.version_compat import conf

if TYPE_CHECKING:
    from airflow.sdk import Context


class EcrRunPlanOperator(ReportLakeOperator[ReportLakeHook]):
    """
    List the registries to report, every account in every region, and plan the run in
    ``{prefix}/_runs/report_date=YYYY-MM-DD/plan.json``; return the batch numbers to map over.

    Accounts are role ARNs, or account ids completed by ``role_name``; with ``discover_accounts`` the
    ACTIVE accounts of the AWS Organization are added (organizations:ListAccounts, from the management
    or a delegated administrator account). No account at all means the connection's own. One registry
    per (account, region): an account listed twice is reported once. Batches hold ``batch_size``
    registries (more when the batches would exceed ``[core] max_map_length``); a registry with many
    images at its last report gets one of its own. Storage prices are read once for every region of the
    run (the Price List API, else the documented table, or ``price_per_gb_month``), so every registry of
    a run is priced alike.

    The plan names the run's generation, where every report task writes; before the plan,
    ``{prefix}/_runs/report_date=YYYY-MM-DD/in_progress.json`` marks the date as being rewritten by
    this run (:class:`~ecr_provider.operators.run_manifest.RunManifestOperator` removes it).

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.

    :param regions: regions to read (templated)
    :param accounts: role ARNs or 12-digit account ids (templated)
    :param role_name: role to assume in accounts given by id or discovered (templated)
    :param discover_accounts: add the Organization's active accounts (templated)
    :param workload_accounts: role ARNs or account ids whose workloads are read for usage in every region,
        their registries not reported (templated)
    :param discover_workload_accounts: add the Organization's active accounts to ``workload_accounts``
        (templated)
    :param price_per_gb_month: storage price override in USD, empty for the Price List API (templated)
    :param batch_size: registries per report task (templated)
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = lake_template_fields(
        "regions",
        "accounts",
        "role_name",
        "discover_accounts",
        "workload_accounts",
        "discover_workload_accounts",
        "price_per_gb_month",
        "batch_size",
    )

    def __init__(
        self,
        *,
        regions: Sequence[str],
        accounts: Sequence[str] = (),
        role_name: str = "",
        discover_accounts: bool = False,
        workload_accounts: Sequence[str] = (),
        discover_workload_accounts: bool = False,
        price_per_gb_month: str | None = None,
        batch_size: int | str = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.regions = regions
        self.accounts = accounts
        self.role_name = role_name
        self.discover_accounts = discover_accounts
        self.workload_accounts = workload_accounts
        self.discover_workload_accounts = discover_workload_accounts
        self.price_per_gb_month = price_per_gb_month
        self.batch_size = batch_size
        if isinstance(batch_size, int):
            check_batch_size(batch_size)

    def _client(self, client_type: str, region_name: str | None = None) -> Any:
        return AwsGenericHook(
            aws_conn_id=self.aws_conn_id,
            client_type=client_type,
            region_name=region_name or self.region_name,
            verify=self.verify,
            config=self.botocore_config,
        ).conn

    def _pricing_client(self) -> Any:
        """The Price List API answers in us-east-1 for every region."""
        return self._client("pricing", PRICING_REGION)

    def execute(self, context: Context) -> list[int]:
        regions = check_regions(self.regions, ecr_regions())
        role_name = check_role_name(self.role_name)
        lake = self.lake_location()
        override = check_price(self.price_per_gb_month)
        batch_size = check_batch_size(whole_number(self.batch_size))
        accounts = list(check_accounts(self.accounts, role_name))
        workload_accounts = list(check_accounts(self.workload_accounts, role_name))
        if self.discover_accounts or self.discover_workload_accounts:
            discovered = check_accounts(active_account_ids(self._client("organizations")), role_name)
            self.log.info("Organization has %d active accounts", len(discovered))
            (accounts if self.discover_accounts else workload_accounts).extend(discovered)
        with aws_call("sts"):
            own_account = str(self._client("sts").get_caller_identity()["Account"])
        targets = unique_registries(plan_targets(accounts, regions), own_account)
        workloads = workload_sources(targets, workload_accounts, regions, own_account)
        images = self.hook.last_image_counts(lake.bucket, lake.prefix, lake.report_date)
        batches = plan_batches(
            [images.get((target.account_id or own_account, target.region)) for target in targets],
            batch_size,
            conf.getint("core", "max_map_length"),
        )
        cache: dict[str, StoragePrices] = {}
        prices = {
            region: prices_record(resolve_storage_prices(self._pricing_client, region, override, cache))
            for region in regions
        }
        generation = self.hook.begin_generation(
            lake.bucket, lake.prefix, lake.report_date, run_id=context["run_id"]
        )
        plan = RunPlan(
            run_id=context["run_id"],
            report_date=lake.report_date,
            generation=generation,
            targets=[target.as_operator_kwargs() for target in targets],
            batches=batches,
            workloads=[workload.as_operator_kwargs() for workload in workloads],
            prices=prices,
        )
        key = plan_key(lake.prefix, lake.report_date)
        self.hook.write_json(lake.bucket, key, plan)
        self.log.info("%d more accounts x regions read for usage only", len(workloads))
        self.log.info(
            "%d registries in %d batches, generation %s (%s): %s",
            len(targets),
            len(batches),
            generation,
            lake.url(key),
            ", ".join(target.label for target in targets[:50]) + (" ..." if len(targets) > 50 else ""),
        )
        return list(range(len(batches)))
