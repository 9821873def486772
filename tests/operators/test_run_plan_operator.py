"""EcrRunPlanOperator: the run plan it writes (registries once each, batches, prices) and what it
refuses before any AWS call."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from ecr_provider.aws.organizations import active_account_ids
from ecr_provider.core.layout import plan_key
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.run_plan import EcrRunPlanOperator
from emulator.destination import ReportDestination
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.operators.conftest import REGION, REPORT_DATE, RUN_ID, lake_arguments, task_context

PREFIX = "operator-targets"
OTHER_REGION = "eu-west-1"
ROLE_B = "arn:aws:iam::222222222222:role/reader-b"


def plan_operator(bucket: str, **arguments: Any) -> EcrRunPlanOperator:
    return EcrRunPlanOperator(
        task_id="registry_targets",
        **{**lake_arguments(bucket, PREFIX), "price_per_gb_month": "0.10", **arguments},
    )


def written_plan(bucket: str) -> dict[str, Any]:
    plan = ReportLakeHook(aws_conn_id="emulator").read_json(bucket, plan_key(PREFIX, REPORT_DATE))
    assert plan is not None
    return plan


def test_no_account_plans_the_connections_own_registry_in_each_region(destination: ReportDestination) -> None:
    batches = plan_operator(destination.bucket, regions=[REGION, OTHER_REGION]).execute(task_context())

    plan = written_plan(destination.bucket)
    assert batches == [0]
    assert (plan["run_id"], plan["report_date"]) == (RUN_ID, REPORT_DATE)
    assert plan["targets"] == [
        {"region_name": REGION, "role_arn": None},
        {"region_name": OTHER_REGION, "role_arn": None},
    ]
    assert plan["batches"] == [[0, 1]]
    assert {region: (p["standard"], p["source"]) for region, p in plan["prices"].items()} == {
        REGION: ("0.10", "override"),
        OTHER_REGION: ("0.10", "override"),
    }


def test_an_account_listed_twice_is_one_registry_and_batches_hold_batch_size(
    destination: ReportDestination,
) -> None:
    batches = plan_operator(
        destination.bucket,
        regions=[REGION, OTHER_REGION],
        accounts=["111111111111", ROLE_B, "111111111111"],
        role_name="reader",
        batch_size=3,
    ).execute(task_context())

    plan = written_plan(destination.bucket)
    assert batches == [0, 1]
    assert sorted((t["role_arn"], t["region_name"]) for t in plan["targets"]) == [
        ("arn:aws:iam::111111111111:role/reader", OTHER_REGION),
        ("arn:aws:iam::111111111111:role/reader", REGION),
        (ROLE_B, OTHER_REGION),
        (ROLE_B, REGION),
    ]
    assert plan["batches"] == [[0, 1, 2], [3]]


def test_the_own_account_listed_by_a_role_is_reported_once(destination: ReportDestination) -> None:
    own = f"arn:aws:iam::{ACCOUNT_ID}:role/reader"
    plan_operator(destination.bucket, regions=[REGION], accounts=[own, own]).execute(task_context())

    assert written_plan(destination.bucket)["targets"] == [{"region_name": REGION, "role_arn": own}]


@pytest.mark.parametrize("batch_size", [0, 10_000_000, True])
def test_a_bad_batch_size_is_refused_when_the_dag_is_parsed(batch_size: object) -> None:
    with pytest.raises(ValueError, match=f"batch_size must be .*got {batch_size!r}"):
        plan_operator("ecr-reports-demo", regions=[REGION], batch_size=batch_size)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"regions": ["mars-north-1"]}, "mars-north-1"),
        ({"regions": [REGION], "report_bucket": "Bad_Bucket"}, "report_bucket 'Bad_Bucket'"),
        ({"regions": [REGION], "report_date": "2026-13-01"}, "2026-13-01"),
        ({"regions": [REGION], "price_per_gb_month": "-1"}, "price_per_gb_month"),
    ],
)
def test_a_bad_rendered_value_is_refused_before_any_aws_call(
    arguments: dict[str, Any], named: str, emulator: Emulator, destination: ReportDestination
) -> None:
    emulator.inject_faults({"sts:GetCallerIdentity": ["denied"], "s3:PutObject": ["denied"]})
    operator = plan_operator(destination.bucket, **{"regions": [REGION], **arguments})
    with pytest.raises(ValueError, match=named):
        operator.execute(task_context())


def test_workload_accounts_are_usage_sources_in_every_region_but_not_registries(
    destination: ReportDestination,
) -> None:
    plan_operator(
        destination.bucket,
        regions=[REGION, OTHER_REGION],
        accounts=[ROLE_B],
        workload_accounts=["333333333333", ROLE_B],
        role_name="reader",
    ).execute(task_context())

    plan = written_plan(destination.bucket)
    assert [(t["role_arn"], t["region_name"]) for t in plan["targets"]] == [
        (ROLE_B, REGION),
        (ROLE_B, OTHER_REGION),
    ]
    assert [(w["role_arn"], w["region_name"]) for w in plan["workloads"]] == [
        ("arn:aws:iam::333333333333:role/reader", REGION),
        ("arn:aws:iam::333333333333:role/reader", OTHER_REGION),
    ]


def test_discovered_organisation_accounts_can_be_read_for_usage_only(
    destination: ReportDestination, emulator: Emulator
) -> None:
    organizations = client("organizations", emulator.endpoint_url, REGION)
    with contextlib.suppress(organizations.exceptions.AlreadyInOrganizationException):
        organizations.create_organization(FeatureSet="ALL")  # unless another test of the session did
    members = active_account_ids(organizations)

    plan_operator(
        destination.bucket,
        regions=[REGION],
        accounts=[ROLE_B],
        discover_workload_accounts=True,
        role_name="r",
    ).execute(task_context())

    plan = written_plan(destination.bucket)
    assert [t["role_arn"] for t in plan["targets"]] == [ROLE_B]
    assert [w["role_arn"] for w in plan["workloads"]] == [
        f"arn:aws:iam::{member}:role/r" for member in members if member != "222222222222"
    ]
    assert members
