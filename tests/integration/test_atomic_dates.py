"""A report date changes in one step for its readers: the DAG rerun and stopped at several points, an
object refused on a first run and on a rerun, and two runs of one date, in the emulator.

A run is stopped where it stands by making one call of the task it is in raise (``dag.test()`` runs
every task in this process); a run killed there leaves S3 and Glue as this one does, and the run
manifest task, which a killed run never reaches, is stopped too. After each, what Athena reads (the
Glue partition's location, read as OpenCSVSerde does) and what the page shows (the date's visible
manifest, its generation and notes) are one complete state, the previous one or the new one, and
every report object is of the visible generation or of one the next run collects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.core.columns import IMAGES_REPORT, REPORTS, REPOSITORIES_REPORT, reports_written
from ecr_provider.core.layout import (
    generation_manifest_key,
    generation_of,
    in_progress_key,
    partition_prefix,
    plan_key,
    run_manifest_key,
)
from ecr_provider.hooks.report_lake import BEING_REWRITTEN, INCOMPLETE, ReportLakeHook
from ecr_provider.operators.registry_report import EcrRegistryReportOperator
from ecr_provider.operators.run_manifest import RunManifestOperator
from emulator.demo_registry import DemoRegistry
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.core.test_csv_opencsv import athena_rows
from tests.integration.conftest import REGION, REPORT_DATE, DagRunResult, RunDag, aws_connection

pytestmark = pytest.mark.integration

OTHER_REGION = "eu-west-1"
REPORTED = reports_written(include_findings=False)


class Killed(RuntimeError):
    """Where a run is stopped."""


class Lake:
    """One prefix and Glue database of the emulator, its runs, and what its readers see."""

    def __init__(self, emulator: Emulator, destination: ReportDestination, runner: RunDag, name: str) -> None:
        self.emulator = emulator
        self.bucket = destination.bucket
        self.runner = runner
        self.prefix = name.replace("_", "-")
        self.database = name
        self.hook = ReportLakeHook(aws_conn_id="aws_default")

    def run(self) -> DagRunResult:
        conf = {
            "regions": [REGION, OTHER_REGION],
            "batch_size": 1,  # a report task per registry
            "report_bucket": self.bucket,
            "report_prefix": self.prefix,
            "athena_database": self.database,
        }
        return self.runner(conf, REPORT_DATE)

    def visible(self) -> dict[str, Any]:
        manifest = self.hook.read_manifest(self.bucket, self.prefix, REPORT_DATE)
        assert manifest is not None
        return manifest

    def run_manifest(self) -> dict[str, Any]:
        """The manifest of the date's last run, visible or not."""
        plan = self.hook.read_json(self.bucket, plan_key(self.prefix, REPORT_DATE))
        assert plan is not None
        manifest = self.hook.read_json(
            self.bucket, generation_manifest_key(self.prefix, REPORT_DATE, plan["generation"])
        )
        assert manifest is not None
        return manifest

    def athena(self) -> dict[str, list[list[str]]]:
        """Each report's rows of the date as Athena reads them: the objects under its partition's
        location, through OpenCSVSerde."""
        glue = client("glue", self.emulator.endpoint_url, REGION)
        rows: dict[str, list[list[str]]] = {}
        for report in REPORTED:
            partition = glue.get_partition(
                DatabaseName=self.database, TableName=report, PartitionValues=[REPORT_DATE]
            )["Partition"]
            location = partition["StorageDescriptor"]["Location"].removeprefix(f"s3://{self.bucket}/")
            rows[report] = sorted(
                row
                for key in self.hook.keys_under(self.bucket, location)
                for row in athena_rows(self.read(key).decode("utf-8"))
            )
        return rows

    def page(self) -> tuple[list[str], tuple[str, ...]]:
        """The repositories the date's page lists, and its notes."""
        page = self.hook.read_report_page(
            self.bucket,
            self.prefix,
            REPORT_DATE,
            manifests=self.hook.read_manifests(self.bucket, self.prefix, [REPORT_DATE]),
            in_progress=self.hook.read_in_progress(self.bucket, self.prefix, REPORT_DATE),
        )
        return sorted(row["repositoryName"] for row in page.repositories), page.notes

    def read(self, key: str) -> bytes:
        with self.hook.object_body(self.bucket, key) as body:
            data: bytes = body.read()
        return data

    def objects(self) -> dict[str, set[str]]:
        """Every report object of the date, by generation."""
        found: dict[str, set[str]] = {}
        for report in REPORTS:
            partition = partition_prefix(self.prefix, report, REPORT_DATE)
            for key in self.hook.keys_under(self.bucket, partition):
                found.setdefault(str(generation_of(key, partition)), set()).add(key)
        return found

    def state(self) -> dict[str, Any]:
        """What every reader sees: Athena's rows, the page's repositories, the visible manifest."""
        return {"athena": self.athena(), "page": self.page()[0], "manifest": self.visible()}

    def assert_one_complete_state(self, expected: dict[str, Any]) -> None:
        """Athena and the page show ``expected`` (a state an earlier call of :meth:`state` took);
        every object is of the visible generation or of one no reader follows."""
        manifest = self.visible()
        assert manifest == expected["manifest"]
        assert self.page()[0] == expected["page"]
        assert self.athena() == expected["athena"]
        named = {key for target in manifest["targets"] for key in target["keys"].values()}
        objects = self.objects()
        assert objects.pop(manifest["generation"]) == named
        assert not set(objects) & {"None", manifest["generation"]}


@pytest.fixture
def lake_of(
    emulator: Emulator, destination: ReportDestination, dag_runner: RunDag, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Lake]:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_connection(emulator.endpoint_url))
    return lambda name: Lake(emulator, destination, dag_runner, name)


def stop(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    name: str,
    when: Callable[..., bool],
    error: Callable[[str], Exception] = Killed,
) -> None:
    """``owner.name`` raises ``error`` (:class:`Killed` by default) on the calls for which ``when`` holds."""
    original = getattr(owner, name)

    def stopped(self: Any, *args: Any, **kwargs: Any) -> Any:
        if when(self, *args, **kwargs):
            raise error(f"{owner.__name__}.{name}")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, stopped)


def never_reaches_the_manifest_task(monkeypatch: pytest.MonkeyPatch) -> None:
    stop(monkeypatch, RunManifestOperator, "execute", lambda *_: True)


@pytest.fixture
def complete(lake_of: Callable[[str], Lake], demo_registry: DemoRegistry) -> tuple[Lake, dict[str, Any]]:
    lake = lake_of("atomic_reruns")
    run = lake.run()
    assert run.state == "success", run.tail()
    state = lake.state()
    assert state["manifest"]["complete"] is True
    assert state["page"] == sorted(repository.name for repository in demo_registry.repositories)
    assert len(state["athena"][REPOSITORIES_REPORT]) == len(demo_registry.repositories)
    return lake, state


def assert_being_rewritten(lake: Lake) -> None:
    marked = lake.hook.read_in_progress(lake.bucket, lake.prefix, REPORT_DATE)
    assert marked is not None
    assert lake.page()[1] == (BEING_REWRITTEN.format(started=marked["started"]),)


def test_a_rerun_stopped_anywhere_leaves_one_complete_state_and_the_next_run_collects_the_rest(
    complete: tuple[Lake, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, previous = complete

    # 1. Killed after one registry's report task: the other's and the manifest task never ran.
    with monkeypatch.context() as patch:
        stop(patch, EcrRegistryReportOperator, "execute", lambda self, _: str(self.batch) == "1")
        never_reaches_the_manifest_task(patch)
        assert lake.run().state == "failed"
    lake.assert_one_complete_state(previous)
    assert_being_rewritten(lake)

    # 2. Killed in the manifest task before the Glue partitions moved: its own manifest is written.
    with monkeypatch.context() as patch:
        stop(patch, RunManifestOperator, "catalog_hook", lambda *_: True)
        assert lake.run().state == "failed"
    assert lake.run_manifest()["complete"] is True
    lake.assert_one_complete_state(previous)
    assert_being_rewritten(lake)

    # 3. Killed between moving the partitions and writing the date's manifest: Athena reads the new
    #    complete generation, the page the previous one, saying the date is being rewritten.
    with monkeypatch.context() as patch:
        manifest_key = run_manifest_key(lake.prefix, REPORT_DATE)
        stop(patch, ReportLakeHook, "write_json", lambda _, bucket, key, document: key == manifest_key)
        assert lake.run().state == "failed"
    assert lake.visible() == previous["manifest"]
    assert lake.page()[0] == previous["page"]
    assert lake.athena() == previous["athena"]  # the same registries: the new generation's rows are equal
    glue = client("glue", lake.emulator.endpoint_url, REGION)
    moved = glue.get_partition(
        DatabaseName=lake.database, TableName=IMAGES_REPORT, PartitionValues=[REPORT_DATE]
    )["Partition"]["StorageDescriptor"]["Location"]
    assert previous["manifest"]["generation"] not in moved
    assert_being_rewritten(lake)

    # 4. A rerun whose images_summary object of one registry is refused: it ends failed, the date stays
    #    as it was (partitions put back on the visible generation), and its own manifest names the
    #    failure; the objects of every generation but the visible one are collected.
    with monkeypatch.context() as patch:
        refuse_one_object(patch)
        run = lake.run()
    assert (run.state, run.task_states["run_manifest"]) == ("failed", "failed"), run.tail()
    assert "the date's previous complete state stays visible" in run.output
    lake.assert_one_complete_state(previous)
    assert set(lake.objects()) == {previous["manifest"]["generation"]}
    assert lake.hook.read_in_progress(lake.bucket, lake.prefix, REPORT_DATE) is None
    assert lake.page()[1] == ()
    failed = lake.run_manifest()
    assert [target["status"] for target in failed["targets"]] == ["loaded", "failed"]
    assert "AccessDenied" in failed["targets"][1]["error"]

    # 5. The next run of the date replaces it whole; a second run after it, the same again.
    for _ in range(2):
        before = lake.visible()
        run = lake.run()
        assert run.state == "success", run.tail()
        after = lake.state()
        assert after["manifest"]["generation"] > before["generation"]
        assert (after["athena"], after["page"]) == (previous["athena"], previous["page"])
        lake.assert_one_complete_state(after)
        assert set(lake.objects()) == {after["manifest"]["generation"]}
        assert lake.hook.read_in_progress(lake.bucket, lake.prefix, REPORT_DATE) is None


def refuse_one_object(monkeypatch: pytest.MonkeyPatch) -> None:
    """The images_summary object of the second registry is refused, as the hook reports a refusal."""
    stop(
        monkeypatch,
        ReportLakeHook,
        "write_file",
        lambda _, bucket, key, path: f"/{IMAGES_REPORT}/" in key and key.endswith(f"-{OTHER_REGION}.csv"),
        lambda where: AwsCallError(f"s3:PutObject in {where} failed with AccessDenied: refused"),
    )


def test_a_refused_object_on_a_first_run_leaves_its_registry_out_of_what_athena_reads(
    lake_of: Callable[[str], Lake], monkeypatch: pytest.MonkeyPatch, demo_registry: DemoRegistry
) -> None:
    lake = lake_of("atomic_first_refused")
    with monkeypatch.context() as patch:
        refuse_one_object(patch)
        run = lake.run()

    assert (run.state, run.task_states["run_manifest"]) == ("failed", "failed"), run.tail()
    manifest = lake.visible()
    assert (manifest["complete"], [t["status"] for t in manifest["targets"]]) == (False, ["loaded", "failed"])
    # What the failed registry wrote before the refusal is removed from the generation.
    assert all(key.endswith(f"-{OTHER_REGION}.csv") for key in manifest["removed_objects"])
    assert len(lake.athena()[REPOSITORIES_REPORT]) == len(demo_registry.repositories)
    repositories, notes = lake.page()
    assert repositories == sorted(repository.name for repository in demo_registry.repositories)
    assert notes == (INCOMPLETE,)
    assert lake.objects() == {
        manifest["generation"]: {key for target in manifest["targets"] for key in target["keys"].values()}
    }  # none of the failed registry's
    assert lake.hook.read_json(lake.bucket, in_progress_key(lake.prefix, REPORT_DATE)) is None
