"""One row per registry (account and region): its storage counted per repository and once per registry.

A repository's row counts every blob its images reference, once (``uniqueBlobBytes``), mounted or
not: a layer shared by several repositories is attributed in full to each of them. Their sum is
``repositoryUniqueBlobBytes``; the registry's distinct blobs, each once, are
``registryUniqueBlobBytes``; the difference, ``crossRepositoryDuplicateBytes``, is what the registry
holds more than once, across repositories.

With ECR's ``BLOB_MOUNTING`` setting ``ENABLED``, repositories of one registry mount layers from each
other instead of storing copies, so the registry is priced on its registry-unique blobs
(``costBasis`` ``registry-unique-blobs``) and its reclaimable bytes are the blobs that no kept image
of any repository references. AWS does not document how mounted layers are billed, and mounting
applies only to pushes made while it is enabled, between repositories of one encryption
configuration: this is an estimate, a lower bound for a registry that holds copies from before. With
the setting ``DISABLED`` or unread, or when any repository's blobs are unknown (manifests not read),
the registry's figures are the sums of its repositories' rows (``costBasis`` ``repositories``), and
``crossRepositoryDuplicateBytes`` is what enabling it could save on new pushes; existing copies stay
until re-pushed.

Every cost follows ``core.totals``: the repository basis adds the rows' rounded costs.
``repositoriesMonthlyCost(USD)`` is that sum whatever the basis, and the change since the previous
report date is of it (and of the repositories' billable bytes), so it compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ecr_provider.core import units
from ecr_provider.core.columns import REGISTRY_COLUMNS
from ecr_provider.core.records import RepositorySnapshot
from ecr_provider.core.totals import total_usd
from ecr_provider.core.transform import (
    ReportContext,
    RepositoryCleanup,
    RepositoryTotals,
    archived_bytes,
    ordered,
    priced,
)

ENABLED = "ENABLED"
DISABLED = "DISABLED"
BLOB_MOUNTING_VALUES = frozenset({ENABLED, DISABLED})
BASIS_REGISTRY = "registry-unique-blobs"
BASIS_REPOSITORIES = "repositories"


@dataclass
class RegistryTally:
    """A registry's repositories, added one at a time as they stream by; only the blob digests are
    kept (to count each once), never the rows."""

    context: ReportContext
    repositories: int = 0
    images: int = 0
    total_size_bytes: int = 0
    billable_size_bytes: int = 0
    monthly_cost: Decimal = Decimal(0)
    archived_bytes: int = 0
    reclaimable_bytes: int = 0
    reclaimable_cost: Decimal = Decimal(0)
    reclaimable_archived_bytes: int = 0
    blobs_known: bool = True
    repository_blob_bytes: int = 0
    blobs: dict[str, int] = field(default_factory=dict)
    fallback_bytes: int = 0
    kept_blobs: dict[str, int] = field(default_factory=dict)
    kept_fallback_bytes: int = 0

    def add(self, snapshot: RepositorySnapshot, totals: RepositoryTotals, cleanup: RepositoryCleanup) -> None:
        self.repositories += 1
        self.images += len(snapshot.images)
        self.total_size_bytes += totals.total_size_bytes
        self.billable_size_bytes += totals.billable_size_bytes
        self.monthly_cost += total_usd((totals.monthly_cost,))
        self.archived_bytes += totals.archived_size_bytes
        self.reclaimable_bytes += cleanup.reclaimable_bytes
        self.reclaimable_cost += total_usd((cleanup.reclaimable_monthly_cost,))
        reclaimable = [image for image in snapshot.images if image.digest in cleanup.reclaimable_digests]
        self.reclaimable_archived_bytes += archived_bytes(reclaimable)
        storage = snapshot.storage
        if storage is None:
            self.blobs_known = False
            return
        self.repository_blob_bytes += storage.total_bytes
        stored = storage.stored()
        self.blobs.update(stored.sizes)
        self.fallback_bytes += stored.fallback_bytes
        kept = storage.stored(without=cleanup.reclaimable_digests)
        self.kept_blobs.update(kept.sizes)
        self.kept_fallback_bytes += kept.fallback_bytes

    @property
    def registry_blob_bytes(self) -> int:
        return sum(self.blobs.values()) + self.fallback_bytes

    @property
    def basis(self) -> str:
        return (
            BASIS_REGISTRY
            if self.context.blob_mounting == ENABLED and self.blobs_known
            else BASIS_REPOSITORIES
        )

    def row(self) -> list[str]:
        context = self.context
        prices = context.prices
        known = self.blobs_known
        if self.basis == BASIS_REGISTRY:
            billable = self.registry_blob_bytes
            _, _, cost = priced(billable, self.archived_bytes, prices)
            reclaimable = billable - sum(self.kept_blobs.values()) - self.kept_fallback_bytes
            _, _, reclaimable_cost = priced(reclaimable, self.reclaimable_archived_bytes, prices)
        else:
            billable, cost = self.billable_size_bytes, self.monthly_cost
            reclaimable, reclaimable_cost = self.reclaimable_bytes, self.reclaimable_cost
        values = {
            "accountId": context.account_id,
            "region": context.region,
            "repositories": str(self.repositories),
            "images": str(self.images),
            "blobMounting": context.blob_mounting,
            "repositoryUniqueBlobBytes": units.integer(self.repository_blob_bytes if known else None),
            "registryUniqueBlobBytes": units.integer(self.registry_blob_bytes if known else None),
            "crossRepositoryDuplicateBytes": units.integer(
                self.repository_blob_bytes - self.registry_blob_bytes if known else None
            ),
            "monthlyStorageCost(USD)": units.usd(cost),
            "reclaimableBytes": str(reclaimable),
            "reclaimableCost(USD)": units.usd(reclaimable_cost),
            "archivedBytes": str(self.archived_bytes),
            "costBasis": self.basis,
            "billableSizeBytes": str(billable),
            "totalSizeBytes": str(self.total_size_bytes),
            "pricePerGbMonth(USD)": units.usd(prices.standard),
            "priceSource": prices.source,
            "asOf": context.as_of_text,
            "repositoriesMonthlyCost(USD)": units.usd(self.monthly_cost),
            **self._change(),
            "usageSources": units.compact_json(list(context.usage_sources)),
        }
        return ordered(values, REGISTRY_COLUMNS)

    def _change(self) -> dict[str, str]:
        """Since the registry's previous report, on the repositories basis on both dates: a repository
        gone since then counts as shrunk to nothing, one new as grown from nothing."""
        previous = self.context.previous
        if previous is None:
            return {
                "previousReportDate": "",
                "repositoriesSizeChangeBytes": "",
                "repositoriesCostChange(USD)": "",
            }
        before = previous.repositories.values()
        return {
            "previousReportDate": previous.report_date,
            "repositoriesSizeChangeBytes": str(self.billable_size_bytes - sum(size for size, _ in before)),
            "repositoriesCostChange(USD)": units.usd(
                self.monthly_cost - total_usd(cost for _, cost in before)
            ),
        }
