"""The one way a registry is opened for a report, whichever door asks (the CLI, the operator, the
benchmark, the tests): its clients and validated options give a reader whose scan source, manifest
reads and findings are decided up front, and the context its rows are priced and dated in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ecr_provider.aws.account_settings import read_blob_mounting
from ecr_provider.aws.call_stats import CallStats
from ecr_provider.aws.ecr import RegistryReader, parse_epochs_in_utc
from ecr_provider.aws.errors import aws_call
from ecr_provider.aws.inspector import RegistryFindings, registry_image_scans
from ecr_provider.aws.manifests import ManifestCache, plan_manifest_reads
from ecr_provider.aws.pricing import resolve_storage_prices
from ecr_provider.aws.rate_limit import pace_registry
from ecr_provider.aws.usage import UsageReader
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.targets import registry_label
from ecr_provider.core.transform import PreviousReport, ReportContext
from ecr_provider.core.usage import RegistryUsage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RegistryClients:
    """Clients with the registry's own identity: ECR, Amazon Inspector, STS (who is reading), and ECS
    and Lambda (which images run)."""

    account_id: str
    region: str
    ecr: Any
    inspector2: Any
    sts: Any
    ecs: Any
    lambda_: Any

    @classmethod
    def connect(
        cls, make_client: Callable[[str], Any], region: str, account_id: str | None = None
    ) -> RegistryClients:
        """``make_client(service)`` builds a client of the registry's session; an account not known
        (from a role ARN) is the caller's own."""
        sts = make_client("sts")
        if account_id is None:
            with aws_call("sts"):
                account_id = str(sts.get_caller_identity()["Account"])
        return cls(
            account_id,
            region,
            make_client("ecr"),
            make_client("inspector2"),
            sts,
            make_client("ecs"),
            make_client("lambda"),
        )

    @property
    def registry(self) -> tuple[str, str]:
        return (self.account_id, self.region)

    @property
    def label(self) -> str:
        return registry_label(self.account_id, self.region)


class OpenRegistry(NamedTuple):
    reader: RegistryReader
    context: ReportContext


def open_registry(
    clients: RegistryClients,
    options: RegistryOptions,
    *,
    as_of: datetime,
    manifest_cache: ManifestCache,
    pricing_client: Callable[[], Any],
    price_cache: dict[str, StoragePrices],
    previous: PreviousReport | None = None,
    usage: RegistryUsage | None = None,
) -> OpenRegistry:
    """``pricing_client`` is only called when the Price List API is asked (no override, not cached);
    ``price_cache`` lives for one run, so a region is priced once. The ECR and Inspector clients share
    the registry's pace and its optional ceiling (ECS and Lambda too: they are the same account's
    quotas). ``usage`` is the registry's use joined from every source of the run; None reads only the
    registry's own account and region."""
    readers = (clients.ecr, clients.inspector2, clients.ecs, clients.lambda_)
    pace_registry(readers, options.max_requests_per_second)
    calls = CallStats()
    for client in readers:
        parse_epochs_in_utc(client)
        calls.attach(client)  # from the first call: the scan type and the exclusions count too
    scans = registry_image_scans(clients.ecr, clients.inspector2, clients.account_id, clients.region)
    log.info("Registry %s: %s scanning", clients.label, scans.scan_type)
    findings = None
    if options.findings_max_age_days is not None:
        findings = RegistryFindings(
            scan_type=scans.scan_type,
            ecr_client=clients.ecr,
            inspector2_client=clients.inspector2,
            account_id=clients.account_id,
            region=clients.region,
            max_age_days=options.findings_max_age_days,
            max_concurrency=options.max_concurrency,
        )
    manifests = plan_manifest_reads(
        options.read_manifests,
        ecr_client=clients.ecr,
        sts_client=clients.sts,
        cache=manifest_cache,
        region=clients.region,
    )
    prices = resolve_storage_prices(pricing_client, clients.region, options.price_per_gb_month, price_cache)
    log.info("Storage prices for %s: %s", clients.region, prices)
    if usage is None:
        usage = UsageReader(
            clients.ecs, clients.lambda_, clients.account_id, clients.region, options.max_concurrency
        ).read()
    log.info("Registry %s: %s", clients.label, usage.summary())
    reader = RegistryReader(
        clients.ecr,
        options.max_concurrency,
        scans=scans,
        manifests=manifests,
        findings=findings,
        calls=calls,
        repository=options.repository,
    )
    context = ReportContext(
        as_of=as_of,
        prices=prices,
        previous=previous,
        usage=usage,
        cleanup=options.cleanup,
        account_id=clients.account_id,
        region=clients.region,
        blob_mounting=read_blob_mounting(clients.ecr, clients.label),
    )
    return OpenRegistry(reader, context)
