"""Threshold matching (global GB plus glob overrides, last match wins) and breach detection."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecr_provider.core.thresholds import ThresholdPolicy, find_breaches
from ecr_provider.core.units import GB

POLICY = ThresholdPolicy.from_params(10, {"team-*": 5, "team-a/*": 20})


@pytest.mark.parametrize(
    ("repository", "expected_gb"),
    [
        ("team-a/api", 20),  # matches both; the later pattern wins
        ("team-b/x", 5),
        ("team-a", 5),  # "team-a/*" needs the slash
        ("other", 10),
        ("Team-a/api", 10),  # matching is case-sensitive, as ECR names are
    ],
)
def test_last_matching_pattern_wins(repository: str, expected_gb: int) -> None:
    assert POLICY.threshold_gb(repository) == Decimal(expected_gb)


def test_pattern_order_decides_not_specificity() -> None:
    reversed_order = ThresholdPolicy.from_params(10, {"team-a/*": 20, "team-*": 5})
    assert reversed_order.threshold_gb("team-a/api") == Decimal(5)


def test_from_params_reads_strings_and_keeps_order() -> None:
    policy = ThresholdPolicy.from_params("7.5", {"b*": "1", "a*": 2})
    assert policy == ThresholdPolicy(Decimal("7.5"), (("b*", Decimal(1)), ("a*", Decimal(2))))
    assert ThresholdPolicy.from_params(3, None).overrides == ()


def row(name: str, billable_bytes: int, days: str = "3", cost: str = "1.0000") -> dict[str, str]:
    return {
        "repositoryName": name,
        "accountId": "123456789012",
        "region": "us-east-1",
        "billableSizeBytes": str(billable_bytes),
        "totalSizeBytes": str(billable_bytes * 2),
        "monthlyStorageCost(USD)": cost,
        "daysSinceLastPull": days,
    }


def test_breach_is_strictly_above_the_threshold_in_gib() -> None:
    rows = [
        row("other", 10 * GB),  # exactly at 10 GB: no breach
        row("other-2", 10 * GB + 1),  # one byte over
        row("team-b/x", 5 * GB - 1),
        row("team-b/y", 5 * GB + 1),
        row("team-a/api", 19 * GB),  # over "team-*" (5) but its own threshold is 20
        row("team-a/big", 25 * GB, days="", cost="2.5000"),
        row("small", 0),
    ]

    breaches = find_breaches(rows, POLICY)

    assert [b.repository_name for b in breaches] == ["team-a/big", "other-2", "team-b/y"]
    big = breaches[0]
    assert big.billable_size_bytes == 25 * GB
    assert big.size_gb == Decimal(25)
    assert big.threshold_gb == Decimal(20)
    assert big.monthly_cost_usd == "2.5000"
    assert big.days_since_last_pull == ""
    assert (big.account_id, big.region) == ("123456789012", "us-east-1")
    assert [b.threshold_gb for b in breaches] == [Decimal(20), Decimal(10), Decimal(5)]


def test_breach_uses_billable_not_total_bytes() -> None:
    unbilled = row("dedup", 9 * GB)  # totalSizeBytes is 18 GiB, billable only 9
    assert find_breaches([unbilled], POLICY) == []


def test_fractional_threshold_and_zero_threshold() -> None:
    policy = ThresholdPolicy.from_params("0.5", {"strict-*": 0})
    rows = [row("half", GB // 2), row("half-plus", GB // 2 + 1), row("strict-a", 1), row("strict-b", 0)]
    assert [b.repository_name for b in find_breaches(rows, policy)] == ["half-plus", "strict-a"]


def test_equal_sizes_sort_by_name() -> None:
    rows = [row("c", 11 * GB), row("a", 11 * GB), row("b", 12 * GB)]
    assert [b.repository_name for b in find_breaches(rows, POLICY)] == ["b", "a", "c"]


def test_no_rows_no_breaches() -> None:
    assert find_breaches([], POLICY) == []
