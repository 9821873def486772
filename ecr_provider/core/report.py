"""Streams repository snapshots into both reports at once and keeps a small tally of what was written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ecr_provider.core import units
from ecr_provider.core.csv_format import ReportCsvWriter
from ecr_provider.core.records import RepositorySnapshot
from ecr_provider.core.totals import total_usd
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

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for XCom and logs."""
        return {
            "repositories": self.repositories,
            "images": self.images,
            "total_size_bytes": self.total_size_bytes,
            "billable_size_bytes": self.billable_size_bytes,
            "monthly_cost_usd": units.usd(self.monthly_cost),
        }


def write_reports(
    snapshots: Iterable[tuple[RepositorySnapshot, ReportContext]],
    repositories: ReportCsvWriter,
    images: ReportCsvWriter,
) -> ReportTally:
    """Each snapshot comes with its registry's context: prices and previous report are per registry."""
    tally = ReportTally()
    for snapshot, context in snapshots:
        account_id, region = snapshot.repository.account_id, snapshot.repository.region
        cleanup = repository_cleanup(snapshot, context)
        for image in snapshot.images:
            images.write(image_row(image, account_id, region, context, cleanup))
        totals = repository_totals(snapshot, context)
        repositories.write(repository_row(snapshot, totals, context, cleanup))
        tally.repositories += 1
        tally.images += len(snapshot.images)
        tally.total_size_bytes += totals.total_size_bytes
        tally.billable_size_bytes += totals.billable_size_bytes
        tally.monthly_cost += total_usd((totals.monthly_cost,))
    return tally
