"""ECR storage price per GB-month when no override is given.

Source: the Amazon ECR pricing page (storage of private repositories, USD 0.10 per GB-month,
us-east-1 and the other commercial regions it lists). The ``price_per_gb_month`` param overrides it.
"""

from __future__ import annotations

from decimal import Decimal

DEFAULT_PRICE_PER_GB_MONTH = Decimal("0.10")


def storage_price(override: Decimal | None = None) -> Decimal:
    return DEFAULT_PRICE_PER_GB_MONTH if override is None else override
