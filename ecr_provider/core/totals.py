"""The one rule every total of a report follows: the sum of its rows' costs as the CSV holds them.

A repository's monthly cost is rounded once, in its row (4 decimals, half up); a total adds those
rounded figures and is never rounded again from bytes x price. So a person adding the CSV's
``monthlyStorageCost(USD)`` column gets the total to the last digit, and every place that shows one
(the run manifest's storage, hence the trend; the pages' headline) agrees with every other.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ecr_provider.core.units import round_usd


def total_usd(costs: Iterable[Decimal]) -> Decimal:
    """The total of these costs as their rows hold them; a figure already rounded is unchanged."""
    return sum((round_usd(cost) for cost in costs), Decimal(0))
