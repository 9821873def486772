"""The one way a registry is opened for a report, whichever door asks (the CLI, the operator, the
benchmark, the tests): its clients and validated options give a reader whose scan source, manifest
reads and findings are decided up front, and the context its rows are priced and dated in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from ecr_provider.aws.account_settings import read_blob_mounting
from ecr_provider.aws.call_stats import CallStats
from ecr_provider.aws.ecr import RegistryReader, parse_epochs_in_utc
from ecr_provider.aws.errors import aws_call
from ecr_provider.aws.inspector import BASIC, ENHANCED, RegistryFindings, registry_image_scans
from ecr_provider.aws.manifests import ManifestCache, plan_manifest_reads
from ecr_provider.aws.pricing import resolve_storage_prices
from ecr_provider.aws.rate_limit import pace_registry
from ecr_provider.aws.repository_policies import RepositoryPolicies, read_visibility
from ecr_provider.aws.usage import UsageReader
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.targets import registry_label
from ecr_provider.core.transform import PreviousReport, ReportContext
from ecr_provider.core.usage import RegistryUsage
from ecr_provider.core.visibility import ALL_VISIBLE

log = logging.getLogger(__name__)

INSPECTOR_SOURCE = "Inspector"
"""Under enhanced scanning, Inspector's in-use count of each covered image (ECS tasks and EKS pods)."""


class RegistryClients:
    """Clients with the registry's own identity: ECR, Amazon Inspector, STS (who is reading), ECS,
    Lambda and EKS (which images run), each built when first asked for, so an empty registry builds
    ECR alone (and STS when its account is not known)."""

    READERS = frozenset({"ecr", "inspector2", "ecs", "lambda", "eks"})
    """The services that read the registry: paced, counted and prepared by :meth:`prepare_readers`."""

    def __init__(self, make_client: Callable[[str], Any], region: str, account_id: str | None = None) -> None:
        self._make_client = make_client
        self.region = region
        self._account_id = account_id
        self._built: dict[str, Any] = {}
        self._prepare: list[Callable[[Any], None]] = []
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls, make_client: Callable[[str], Any], region: str, account_id: str | None = None
    ) -> RegistryClients:
        """``make_client(service)`` builds a client of the registry's session; an account not known
        (from a role ARN) is the caller's own, asked of STS when first needed."""
        return cls(make_client, region, account_id)

    def client(self, service: str) -> Any:
        with self._lock:
            built = self._built.get(service)
            if built is None:
                built = self._built[service] = self._make_client(service)
                if service in self.READERS:
                    for prepare in self._prepare:
                        prepare(built)
            return built

    def prepare_readers(self, prepare: Callable[[Any], None]) -> None:
        """Apply ``prepare`` to every reader client, those already built and those built later."""
        with self._lock:
            self._prepare.append(prepare)
            built = [client for service, client in self._built.items() if service in self.READERS]
        for client in built:
            prepare(client)

    @property
    def built(self) -> tuple[str, ...]:
        """The services whose clients were built, in the order they were."""
        return tuple(self._built)

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            with aws_call("sts"):
                self._account_id = str(self.sts.get_caller_identity()["Account"])
        return self._account_id

    @property
    def ecr(self) -> Any:
        return self.client("ecr")

    @property
    def inspector2(self) -> Any:
        return self.client("inspector2")

    @property
    def sts(self) -> Any:
        return self.client("sts")

    @property
    def ecs(self) -> Any:
        return self.client("ecs")

    @property
    def lambda_(self) -> Any:
        return self.client("lambda")

    @property
    def registry(self) -> tuple[str, str]:
        return (self.account_id, self.region)

    @property
    def eks(self) -> Any:
        return self.client("eks")

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
    quotas, and EKS). ``usage`` is the registry's use joined from every source of the run (EKS pods
    included); None reads only the registry's own account and region. Policies are read only when
    usage was (otherwise no image is reclaimable on usage grounds anyway), a policy's grant being
    visible when it names an account whose workloads were read (``usage.read_accounts``)."""
    pace = pace_registry(options.max_requests_per_second)
    calls = CallStats()

    def prepare(client: Any) -> None:
        pace.attach(client)
        parse_epochs_in_utc(client)
        calls.attach(client)  # from the first call: the listing, the scan type and the exclusions too

    clients.prepare_readers(prepare)
    reader = RegistryReader(clients.ecr, options.max_concurrency, calls=calls, repository=options.repository)
    prices = resolve_storage_prices(pricing_client, clients.region, options.price_per_gb_month, price_cache)
    if not reader.repositories():
        return _empty_registry(clients, options, reader, as_of=as_of, prices=prices, previous=previous)
    scans = registry_image_scans(clients.ecr, clients.inspector2, clients.account_id, clients.region)
    log.info("Registry %s: %s scanning", clients.label, scans.scan_type)
    findings = _findings(clients, options, scans.scan_type, clients.inspector2)
    manifests = plan_manifest_reads(
        options.read_manifests,
        ecr_client=clients.ecr,
        sts_client=clients.sts,
        cache=manifest_cache,
        region=clients.region,
        registry=clients.label,
    )
    log.info("Storage prices for %s: %s", clients.region, prices)
    if usage is None:
        reader_of_usage = UsageReader(clients.client, *clients.registry, options.max_concurrency)
        usage = reader_of_usage.read()
    log.info("Registry %s: %s", clients.label, usage.summary())
    visibility = ALL_VISIBLE
    policies = None
    if usage.known:
        unseen = usage.unseen_eks
        if scans.scan_type == ENHANCED:  # Inspector's in-use count covers the pods of its own clusters
            unseen = tuple(each for each in unseen if (each.account_id, each.region) != clients.registry)
        visibility = read_visibility(
            clients.ecr, label=clients.label, read_accounts=usage.read_accounts, unseen_eks=unseen
        )
        policies = RepositoryPolicies(clients.ecr, clients.label)
    reader = replace(reader, scans=scans, manifests=manifests, findings=findings, policies=policies)
    context = ReportContext(
        as_of=as_of,
        prices=prices,
        previous=previous,
        usage=usage,
        visibility=visibility,
        usage_sources=usage.sources + ((INSPECTOR_SOURCE,) if scans.scan_type == ENHANCED else ()),
        cleanup=options.cleanup,
        account_id=clients.account_id,
        region=clients.region,
        blob_mounting=read_blob_mounting(clients.ecr, clients.label),
    )
    return OpenRegistry(reader, context)


def _empty_registry(
    clients: RegistryClients,
    options: RegistryOptions,
    reader: RegistryReader,
    *,
    as_of: datetime,
    prices: StoragePrices,
    previous: PreviousReport | None,
) -> OpenRegistry:
    """A registry without repositories has no image to scan, pull, run or find a manifest of, so
    nothing more is read: its reports are header-only and its blob mounting is left unread (empty)."""
    log.info("Registry %s: no repositories, nothing more read", clients.label)
    # No image, so no finding: neither the scan type nor Inspector is asked.
    findings = _findings(clients, options, BASIC, None)
    context = ReportContext(
        as_of=as_of,
        prices=prices,
        previous=previous,
        usage=RegistryUsage(),
        cleanup=options.cleanup,
        account_id=clients.account_id,
        region=clients.region,
    )
    return OpenRegistry(replace(reader, findings=findings), context)


def _findings(
    clients: RegistryClients, options: RegistryOptions, scan_type: str, inspector2_client: Any
) -> RegistryFindings | None:
    """The findings reader when the image_findings report is asked for."""
    if options.findings_max_age_days is None:
        return None
    return RegistryFindings(
        scan_type=scan_type,
        ecr_client=clients.ecr,
        inspector2_client=inspector2_client,
        account_id=clients.account_id,
        region=clients.region,
        max_age_days=options.findings_max_age_days,
        max_concurrency=options.max_concurrency,
    )
