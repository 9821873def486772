"""ECR storage prices to fall back on when the AWS Price List Query API cannot be asked.

Figures are USD per GB-month for private repository storage, compiled on 2026-11-27 from:

- the Amazon ECR pricing page (https://aws.amazon.com/ecr/pricing/): standard storage USD 0.10 per
  GB-month; archive storage (launched November 2025) USD 0.10 per GB-month for the first 150 TB a
  month and USD 0.07 above that, plus USD 0.03 per GB restored and a 90-day minimum;
- AWS Price List (``AmazonECR``) figures reported publicly: us-east-1 standard and archive (pointfive
  CER-0308, March 2026), ap-northeast-1 standard and archive (devjapan.com, Price List API,
  2026-03-22; classmethod, 2025-11-20), ca-central-1 standard and archive (price list products
  ``CAN1-TimedStorage-ByteHrs`` / ``CAN1-TimedStorage-Archive-ByteHrs`` quoted in public test
  fixtures, 2026-09) and eu-west-1 standard (``EU-TimedStorage-ByteHrs``, 0.10).

Only regions with a figure from those sources are listed; any other region gets
``DEFAULT_STANDARD`` (the single storage rate the pricing page quotes) and no archive rate, so its
archived bytes are priced at the standard rate. The archive figure is the first tier (under 150 TB
of archived data a month per account and region), which is the tier nearly every registry is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

PriceSource = Literal["pricing-api", "fallback-table", "override"]

DEFAULT_STANDARD = Decimal("0.10")

# region -> (standard, archive first tier); None where no archive figure could be confirmed.
REGION_RATES: dict[str, tuple[Decimal, Decimal | None]] = {
    "us-east-1": (Decimal("0.10"), Decimal("0.10")),
    "eu-west-1": (Decimal("0.10"), None),
    "ap-northeast-1": (Decimal("0.10"), Decimal("0.10")),
    "ca-central-1": (Decimal("0.10"), Decimal("0.10")),
}


@dataclass(frozen=True, slots=True)
class StoragePrices:
    """USD per GB-month for one region, and where the figures came from (shown beside the cost)."""

    standard: Decimal
    archive: Decimal | None
    source: PriceSource

    @property
    def archive_rate(self) -> Decimal:
        """The rate for archived bytes: the archive rate where known, else the standard one."""
        return self.standard if self.archive is None else self.archive


def fallback_prices(region: str) -> StoragePrices:
    standard, archive = REGION_RATES.get(region, (DEFAULT_STANDARD, None))
    return StoragePrices(standard, archive, "fallback-table")
