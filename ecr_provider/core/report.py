"""Streams repository snapshots into the reports at once and keeps a small tally of what was written."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ecr_provider.core import units
from ecr_provider.core.csv_format import ReportCsvWriter
from ecr_provider.core.phase_times import TRANSFORM, WRITE, PhaseTimes
from ecr_provider.core.records import RepositorySnapshot
from ecr_provider.core.registries import RegistryTally
from ecr_provider.core.transform import (
    ReportContext,
    image_row,
    repository_cleanup,
    repository_row,
    repository_totals,
)


@dataclass(slots=True)
class ReportTally:
    """``monthly_cost`` follows ``core.totals``: the sum of the rows' rounded costs."""

    repositories: int = 0
    images: int = 0
    total_size_bytes: int = 0
    billable_size_bytes: int = 0
    monthly_cost: Decimal = Decimal(0)
    registries: dict[tuple[str, str], ReportTally] = field(default_factory=dict)
    """Each registry's own tally by (account, region): what its summary in a run manifest counts."""

    def of(self, account_id: str, region: str) -> ReportTally:
        """One registry's tally; zero for a registry without a repository."""
        return self.registries.get((account_id, region)) or ReportTally()

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for XCom and logs."""
        return {
            "repositories": self.repositories,
            "images": self.images,
            "total_size_bytes": self.total_size_bytes,
            "billable_size_bytes": self.billable_size_bytes,
            "monthly_cost_usd": units.usd(self.monthly_cost),
        }

    def close(self, registry: RegistryTally) -> list[str]:
        """Count a registry whose repositories are all added; its row."""
        self.registries[registry.context.account_id, registry.context.region] = ReportTally(
            registry.repositories,
            registry.images,
            registry.total_size_bytes,
            registry.billable_size_bytes,
            registry.monthly_cost,
        )
        self.repositories += registry.repositories
        self.images += registry.images
        self.total_size_bytes += registry.total_size_bytes
        self.billable_size_bytes += registry.billable_size_bytes
        self.monthly_cost += registry.monthly_cost
        return registry.row()


def write_reports(
    snapshots: Iterable[tuple[RepositorySnapshot, ReportContext]],
    repositories: ReportCsvWriter,
    images: ReportCsvWriter,
    registries: ReportCsvWriter,
    contexts: Sequence[ReportContext],
    *,
    phases: PhaseTimes | None = None,
) -> ReportTally:
    """Each snapshot comes with its registry's context: prices and previous report are per registry.

    ``contexts`` are the registries in order, one row each in ``registries`` (also those without a
    repository); their snapshots come grouped, so a registry's blob digests are let go once its row
    is made. The seconds spent making rows and writing them are added to ``phases``, so the rest of
    the caller's span is the wait for the snapshots."""
    tally = ReportTally()
    clock = time.perf_counter
    transforming = writing = 0.0
    rows: dict[int, list[str]] = {}
    current: RegistryTally | None = None
    for snapshot, context in snapshots:
        if current is None or current.context is not context:
            if current is not None:
                rows[id(current.context)] = tally.close(current)
            current = RegistryTally(context)
        account_id, region = snapshot.repository.account_id, snapshot.repository.region
        began = clock()
        cleanup = repository_cleanup(snapshot, context)
        image_rows = [image_row(image, account_id, region, context, cleanup) for image in snapshot.images]
        totals = repository_totals(snapshot, context)
        repository = repository_row(snapshot, totals, context, cleanup)
        current.add(snapshot, totals, cleanup)
        made = clock()
        for row in image_rows:
            images.write(row)
        repositories.write(repository)
        transforming += made - began
        writing += clock() - made
    if current is not None:
        rows[id(current.context)] = tally.close(current)
    for context in contexts:
        registries.write(rows.get(id(context)) or RegistryTally(context).row())
    if phases is not None:
        phases.add(TRANSFORM, transforming)
        phases.add(WRITE, writing)
    return tally
