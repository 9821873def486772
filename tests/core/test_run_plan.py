"""The run plan: one registry per (account, region), batches under Airflow's map limit, prices as JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecr_provider.core.layout import outcomes_key, plan_key
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.run_plan import (
    RunPlan,
    check_plan,
    plan_batches,
    planned_outcomes,
    prices_of,
    prices_record,
    unique_registries,
    usage_sources,
    workload_sources,
)
from ecr_provider.core.targets import RegistryTarget

OWN = "111111111111"
B, C = "222222222222", "333333333333"


def test_an_account_listed_twice_is_one_registry_per_region() -> None:
    targets = [
        RegistryTarget("us-east-1", "arn:aws:iam::222222222222:role/ecr-report"),
        RegistryTarget("us-east-1", "arn:aws:iam::222222222222:role/other-name"),
        RegistryTarget("eu-west-1", "arn:aws:iam::222222222222:role/other-name"),
        RegistryTarget("us-east-1", None),
        RegistryTarget("us-east-1", f"arn:aws:iam::{OWN}:role/ecr-report"),  # the connection's own, by role
    ]

    assert unique_registries(targets, OWN) == [targets[0], targets[2], targets[3]]


def test_batches_hold_the_batch_size_in_order() -> None:
    assert plan_batches([None] * 7, batch_size=3, max_batches=100) == [[0, 1, 2], [3, 4, 5], [6]]


def test_batches_grow_to_stay_under_the_map_limit() -> None:
    batches = plan_batches([None] * 8_500, batch_size=50, max_batches=16)

    assert len(batches) <= 16
    assert sorted(index for batch in batches for index in batch) == list(range(8_500))
    assert {len(batch) for batch in batches[:-1]} == {532}  # ceil(8500 / 16)


def test_a_registry_that_was_large_at_its_last_report_gets_a_batch_of_its_own() -> None:
    images = [10, 250_000, None, 5, 50_000, 49_999]

    assert plan_batches(images, batch_size=3, max_batches=100) == [[1], [4], [0, 2, 3], [5]]


def test_large_registries_that_leave_no_room_are_refused_naming_the_limit() -> None:
    with pytest.raises(ValueError, match=r"raise \[core\] max_map_length"):
        plan_batches([100_000, 100_000, 3], batch_size=10, max_batches=2)


def test_prices_travel_as_text_and_come_back_exact() -> None:
    prices = {
        "us-east-1": StoragePrices(Decimal("0.10"), Decimal("0.0125"), "pricing-api"),
        "eu-west-1": StoragePrices(Decimal("0.11"), None, "fallback-table"),
    }
    plan = RunPlan(
        run_id="r",
        report_date="2026-11-20",
        generation="20261120T000000Z-00000000",
        targets=[],
        batches=[],
        workloads=[],
        prices={region: prices_record(p) for region, p in prices.items()},
    )

    assert prices_of(plan) == prices
    assert plan["prices"]["us-east-1"] == {"standard": "0.10", "archive": "0.0125", "source": "pricing-api"}


def test_a_plan_of_another_run_or_none_is_refused_saying_which() -> None:
    plan = {"run_id": "scheduled__2026-11-20", "targets": [], "batches": [], "prices": {}}
    assert check_plan(plan, "scheduled__2026-11-20", "s3://b/k")["batches"] == []
    with pytest.raises(ValueError, match="is of run 'scheduled__2026-11-20', not of 'manual__x'"):
        check_plan(plan, "manual__x", "s3://b/k")
    with pytest.raises(ValueError, match="no run plan at s3://b/k"):
        check_plan(None, "manual__x", "s3://b/k")


def test_outcomes_count_only_for_the_run_and_generation_of_the_plan() -> None:
    """A run cleared and run again keeps its run id and plans a new generation: what its killed attempt
    recorded is not this attempt's (its objects are under the old generation, which this run deletes)."""
    plan = RunPlan(
        run_id="manual__x",
        report_date="2026-11-20",
        generation="20261120T000000Z-0a1b2c3d",
        targets=[],
        batches=[],
        workloads=[],
        prices={},
    )
    outcomes = [{"index": 0, "status": "loaded"}]
    recorded = {"run_id": "manual__x", "generation": plan["generation"], "outcomes": outcomes}
    assert planned_outcomes(recorded, plan) == outcomes
    assert planned_outcomes({**recorded, "generation": "20261119T000000Z-0a1b2c3d"}, plan) == []
    assert planned_outcomes({**recorded, "run_id": "manual__y"}, plan) == []
    assert planned_outcomes({"run_id": "manual__x", "outcomes": outcomes}, plan) == []  # before generations
    assert planned_outcomes(None, plan) == []


def test_the_plan_and_outcomes_sit_under_the_runs_records() -> None:
    assert plan_key("p", "2026-11-20") == "p/_runs/report_date=2026-11-20/plan.json"
    assert outcomes_key("p", "2026-11-20", 7) == "p/_runs/report_date=2026-11-20/outcomes/00007.json"
    assert outcomes_key("", "2026-11-20", -1) == "_runs/report_date=2026-11-20/outcomes/00000.json"


def test_workload_accounts_add_sources_but_not_the_registries_of_the_run() -> None:
    targets = [RegistryTarget("eu-west-1", None), RegistryTarget("eu-west-1", f"arn:aws:iam::{B}:role/r")]
    workloads = workload_sources(
        targets, [f"arn:aws:iam::{B}:role/r", f"arn:aws:iam::{C}:role/r"], ["eu-west-1", "us-east-1"], OWN
    )

    assert [(w.account_id, w.region) for w in workloads] == [
        (B, "us-east-1"),
        (C, "eu-west-1"),
        (C, "us-east-1"),
    ]
    assert workload_sources(targets, [], ["eu-west-1"], OWN) == []


def test_each_usage_batch_reads_its_registries_and_every_nth_workload_source() -> None:
    plan = RunPlan(
        run_id="r",
        report_date="2026-11-20",
        targets=[RegistryTarget(region).as_operator_kwargs() for region in ("a-1", "b-1", "c-1")],
        batches=[[0, 1], [2]],
        workloads=[
            RegistryTarget(region, f"arn:aws:iam::{C}:role/r").as_operator_kwargs() for region in "wxyz"
        ],
        prices={},
        generation="20261120T000000Z-00000000",
    )

    first, second = usage_sources(plan, 0), usage_sources(plan, 1)

    assert [source.region for source in first] == ["a-1", "b-1", "w", "y"]
    assert [source.region for source in second] == ["c-1", "x", "z"]
