"""A report date changes in one step for its readers: the DAG rerun and stopped at several points, an
object refused on a first run and on a rerun, and two runs of one date, in the emulator.

A run is stopped where it stands by making one call of the task it is in raise (``dag.test()`` runs
every task in this process), and the run manifest task, which a killed run never reaches, is stopped
too; test_dag_killed.py kills runs outright (``kill -9``) in a child process. After each, what Athena
reads and what the page shows (tests/integration/lake.py) are one complete state, the previous one or
the new one, and every report object is of the visible generation or of one the next run collects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.core.columns import IMAGES_REPORT, REPOSITORIES_REPORT
from ecr_provider.core.layout import in_progress_key, run_manifest_key
from ecr_provider.hooks.report_lake import INCOMPLETE, ReportLakeHook
from ecr_provider.operators.registry_report import EcrRegistryReportOperator
from ecr_provider.operators.run_manifest import RunManifestOperator
from emulator.demo_registry import DemoRegistry
from tests.integration.conftest import REPORT_DATE
from tests.integration.lake import OTHER_REGION, Lake, complete_state

pytestmark = pytest.mark.integration


class Killed(RuntimeError):
    """Where a run is stopped."""


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
    return lake, complete_state(lake, demo_registry)


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
    lake.assert_being_rewritten()

    # 2. Killed in the manifest task before the Glue partitions moved: its own manifest is written.
    with monkeypatch.context() as patch:
        stop(patch, RunManifestOperator, "catalog_hook", lambda *_: True)
        assert lake.run().state == "failed"
    assert lake.run_manifest()["complete"] is True
    lake.assert_one_complete_state(previous)
    lake.assert_being_rewritten()

    # 3. Killed between moving the partitions and writing the date's manifest: Athena reads the new
    #    complete generation, the page the previous one, saying the date is being rewritten.
    with monkeypatch.context() as patch:
        manifest_key = run_manifest_key(lake.prefix, REPORT_DATE)
        stop(patch, ReportLakeHook, "write_json", lambda _, bucket, key, document: key == manifest_key)
        assert lake.run().state == "failed"
    assert lake.visible() == previous["manifest"]
    assert lake.page()[0] == previous["page"]
    assert lake.athena() == previous["athena"]  # the same registries: the new generation's rows are equal
    assert previous["manifest"]["generation"] not in lake.locations()[IMAGES_REPORT]
    lake.assert_being_rewritten()

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
