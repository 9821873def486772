"""Resolve the (account, region) registries of a run, one mapped report task each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from ecr_provider.aws.organizations import active_account_ids
from ecr_provider.aws.regions import ecr_regions
from ecr_provider.core.settings import check_regions
from ecr_provider.core.targets import TargetParams, check_accounts, check_role_name, plan_targets

if TYPE_CHECKING:
    from airflow.sdk import Context


class EcrRegistryTargetsOperator(AwsBaseOperator[AwsGenericHook]):  # type: ignore[type-arg]
    """
    List the registries to report: every account in every region.

    Accounts are role ARNs, or account ids completed by ``role_name``; with ``discover_accounts``
    the ACTIVE accounts of the AWS Organization are added (organizations:ListAccounts, from the
    management or a delegated administrator account). No account at all means the connection's own.
    The result feeds ``EcrRegistryReportOperator.partial(...).expand_kwargs(...)``.

    :param regions: regions to read (templated)
    :param accounts: role ARNs or 12-digit account ids (templated)
    :param role_name: role to assume in accounts given by id or discovered (templated)
    :param discover_accounts: add the Organization's active accounts (templated)
    """

    aws_hook_class = AwsGenericHook
    template_fields: Sequence[str] = aws_template_fields(
        "regions", "accounts", "role_name", "discover_accounts"
    )

    def __init__(
        self,
        *,
        regions: Sequence[str],
        accounts: Sequence[str] = (),
        role_name: str = "",
        discover_accounts: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.regions = regions
        self.accounts = accounts
        self.role_name = role_name
        self.discover_accounts = discover_accounts

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "client_type": "organizations"}

    def execute(self, context: Context) -> list[TargetParams]:
        regions = check_regions(self.regions, ecr_regions())
        role_name = check_role_name(self.role_name)
        accounts = list(check_accounts(self.accounts, role_name))
        if self.discover_accounts:
            discovered = active_account_ids(self.hook.conn)
            self.log.info("Organization has %d active accounts", len(discovered))
            accounts.extend(check_accounts(discovered, role_name))
        targets = plan_targets(accounts, regions)
        self.log.info(
            "%d registries: %s",
            len(targets),
            ", ".join(target.label for target in targets),
        )
        return [target.as_operator_kwargs() for target in targets]
