"""RunUsage: what a report task joins of the usage tasks' records in S3, and what it refuses to trust."""

from __future__ import annotations

from ecr_provider.core.layout import unknown_usage_key, usage_group_key
from ecr_provider.core.run_plan import RunPlan
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.core.usage import RegistryUsage
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.base_lake import LakeLocation
from ecr_provider.operators.usage import RunUsage
from emulator.destination import ReportDestination
from tests.operators.conftest import GENERATION, REGION, REPORT_DATE, RUN_ID

PREFIX = "operator-run-usage"
SHARED, WORKLOAD, FAILING = "111111111111", "222222222222", "333333333333"
REGISTRY = (SHARED, REGION)
DIGEST = "sha256:" + "a" * 64
EARLIER = "20261119T000000Z-00000000"
"""The generation of an earlier attempt of the run."""


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/r"


def plan(*workloads: str) -> RunPlan:
    return RunPlan(
        run_id=RUN_ID,
        report_date=REPORT_DATE,
        targets=[RegistryTarget(REGION, role(SHARED)).as_operator_kwargs()],
        batches=[[0]],
        workloads=[RegistryTarget(REGION, role(account)).as_operator_kwargs() for account in workloads],
        prices={},
        generation=GENERATION,
    )


def write_group(
    hook: ReportLakeHook,
    bucket: str,
    prefix: str,
    source: str,
    place: str,
    run_id: str = RUN_ID,
    generation: str = GENERATION,
) -> None:
    usage = RegistryUsage(running={("web", DIGEST): {place: 1}})
    key = usage_group_key(prefix, REPORT_DATE, REGISTRY, (source, REGION))
    record = {"run_id": run_id, "generation": generation, "source": [source, REGION], **usage.as_record()}
    hook.write_json(bucket, key, record)


def own_account() -> str:
    raise AssertionError("every source of the plan names its account")


def test_the_groups_of_this_run_are_joined_and_another_runs_are_not(destination: ReportDestination) -> None:
    """Nor those of an earlier attempt of this run (cleared and run again: the same id, another plan)."""
    hook = ReportLakeHook(aws_conn_id="emulator")
    lake = LakeLocation(destination.bucket, f"{PREFIX}-joined", REPORT_DATE)
    write_group(hook, lake.bucket, lake.prefix, SHARED, "lambda:own")
    write_group(hook, lake.bucket, lake.prefix, WORKLOAD, f"ecs:{WORKLOAD}/{REGION}/c/s")
    write_group(hook, lake.bucket, lake.prefix, FAILING, "ecs:stale/run", run_id="an earlier run")
    write_group(hook, lake.bucket, lake.prefix, "444444444444", "ecs:killed/attempt", generation=EARLIER)

    usage = RunUsage.load(hook, lake, RUN_ID, plan(WORKLOAD), own_account).of(REGISTRY)

    assert usage.running == {("web", DIGEST): {"lambda:own": 1, f"ecs:{WORKLOAD}/{REGION}/c/s": 1}}
    assert usage.known
    assert usage.read_accounts == {SHARED, WORKLOAD}
    assert usage.sources == ("ECS", "Lambda")


def test_a_failed_source_or_an_unread_registry_leaves_the_use_unknown(destination: ReportDestination) -> None:
    hook = ReportLakeHook(aws_conn_id="emulator")
    lake = LakeLocation(destination.bucket, f"{PREFIX}-unknown", REPORT_DATE)
    failed = RegistryTarget(REGION, role(FAILING))
    record = {
        "run_id": RUN_ID,
        "generation": GENERATION,
        "account": FAILING,
        "source": failed.label,
        "errors": ["sts:AssumeRole denied"],
    }
    hook.write_json(lake.bucket, unknown_usage_key(lake.prefix, REPORT_DATE, (FAILING, REGION)), record)
    killed = {**record, "generation": EARLIER, "account": WORKLOAD, "source": f"{WORKLOAD}/{REGION}"}
    hook.write_json(lake.bucket, unknown_usage_key(lake.prefix, REPORT_DATE, (WORKLOAD, REGION)), killed)

    run = RunUsage.load(hook, lake, RUN_ID, plan(WORKLOAD, FAILING), own_account)
    usage = run.of(REGISTRY)

    assert usage.unknown == (
        f"{FAILING}/{REGION}: sts:AssumeRole denied",
        f"{SHARED}/{REGION}: not read by this run's usage task",
    )
    assert usage.read_accounts == {SHARED, WORKLOAD}
