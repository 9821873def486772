"""A rerun of a complete report date killed outright: ``kill -9`` of the process group of a
``dag.test()`` run in a child process, so no ``except`` or ``finally`` block of the run runs, at
moments told by what the run wrote to the emulator's S3 (polled, never timed):

- ``marked``: the date's ``in_progress.json`` names the run's generation (the plan is being written,
  nothing reported yet);
- ``reporting``: the first report object of the run's generation exists (its registry's outcome
  follows within tens of milliseconds: the kill lands before or after it);
- ``recorded``: a report task recorded its registry's outcome (the other report task may have too);
- ``switching``: the run's own manifest ``generation=G/manifest.json`` exists, before the Glue
  partitions move to G;
- ``moved``: a Glue partition of the date points to G, before the date's manifest does (about a
  tenth of a second: the kill may land after the date's manifest moved too).

Each rerun is the killed run cleared and run again under the same run id, as Airflow's Clear does.
After each kill Athena and the page show one complete state (tests/integration/lake.py) and every
report object is of the visible generation or of one the next run collects; the next run to end
makes its complete state visible, collects every killed run's objects, removes the in-progress mark,
and reclaims the work folder a killed report task left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ecr_provider.core.layout import (
    GENERATION_KEY,
    RUNS_DIRECTORY,
    generation_manifest_key,
    generation_of,
    in_progress_key,
    outcomes_prefix,
    partition_prefix,
)
from ecr_provider.task_folder import TASKS_DIRECTORY
from emulator import demo
from emulator.dag_process import DAG_TEST
from emulator.demo_registry import DemoRegistry
from tests.conftest import REPO_ROOT
from tests.integration.conftest import DAG_FILE, REPORT_DATE, aws_connection
from tests.integration.lake import Lake, complete_state

pytestmark = pytest.mark.integration

RUN_AFTER = "2026-11-21T06:00:00+00:00"
"""Of every run in the child: one run id, a run cleared and run again."""
POLL_SECONDS = 0.005
PATIENCE_SECONDS = 300
"""How long a child run may take to reach a moment (Airflow starts in it first) on a loaded machine."""


def marked(lake: Lake, generation: str) -> bool:
    return True  # the run's in-progress mark, which names its generation, is the moment


def reporting(lake: Lake, generation: str) -> bool:
    """One listing of the lake (the report objects of a registry are written within milliseconds)."""
    written = lake.hook.keys_under(lake.bucket, f"{lake.prefix}/")
    return any(f"/{GENERATION_KEY}={generation}/" in key for key in written if RUNS_DIRECTORY not in key)


def recorded(lake: Lake, generation: str) -> bool:
    return any(
        (lake.hook.read_json(lake.bucket, key) or {}).get("generation") == generation
        for key in lake.hook.keys_under(lake.bucket, outcomes_prefix(lake.prefix, REPORT_DATE))
    )


def switching(lake: Lake, generation: str) -> bool:
    return own_manifest(lake, generation) is not None


def own_manifest(lake: Lake, generation: str) -> dict[str, Any] | None:
    """The manifest of the run that wrote ``generation``, once its ``run_manifest`` task wrote it."""
    return lake.hook.read_json(lake.bucket, generation_manifest_key(lake.prefix, REPORT_DATE, generation))


def moved(lake: Lake, generation: str) -> bool:
    return generation in followed(lake).values()


def followed(lake: Lake) -> dict[str, str | None]:
    """The generation each report's Glue partition of the date points to: what Athena reads."""
    return {
        report: generation_of(location, partition_prefix(lake.prefix, report, REPORT_DATE))
        for report, location in lake.locations().items()
    }


MOMENTS: dict[str, Callable[[Lake, str], bool]] = {
    "marked": marked,
    "reporting": reporting,
    "recorded": recorded,
    "switching": switching,
    "moved": moved,
}
CLOSING = ("switching", "moved")
"""The moments in the run's ``run_manifest`` task."""


class Child:
    """``dag.test()`` of the lake's date in a process group of its own, its Airflow home and
    temporary directory in ``folder``."""

    def __init__(self, lake: Lake, folder: Path) -> None:
        self.lake = lake
        self.tmp = folder / "tmp"
        self.tmp.mkdir()
        self.log = folder / "child.log"
        self.environ = {
            **demo.airflow_env(lake.emulator.endpoint_url, folder / "airflow"),
            "AIRFLOW_CONN_AWS_DEFAULT": aws_connection(lake.emulator.endpoint_url),
            "PYTHONPATH": str(REPO_ROOT),
            "TMPDIR": str(self.tmp),
        }

    def start(self) -> subprocess.Popen[bytes]:
        conf = json.dumps(self.lake.conf())
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-c", DAG_TEST, str(DAG_FILE.parent), REPORT_DATE, conf, RUN_AFTER],
                env=self.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def kill_at(self, moment: str, earlier: set[str]) -> str:
        """Start a run, ``kill -9`` its process group once it reached ``moment``; its generation."""
        process = self.start()
        try:
            generation = self._wait(process, lambda: self._new_generation(earlier))
            self._wait(process, lambda: MOMENTS[moment](self.lake, generation) and generation)
        finally:
            with contextlib.suppress(ProcessLookupError):  # none left of a run that ended
                os.killpg(process.pid, signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
        return generation

    def run(self) -> None:
        """A run to its end."""
        process = self.start()
        assert process.wait(timeout=PATIENCE_SECONDS) == 0, self.tail()
        assert "dag.test() run state: success" in self.tail(), self.tail()

    def _new_generation(self, earlier: set[str]) -> str | None:
        mark = self.lake.hook.read_json(self.lake.bucket, in_progress_key(self.lake.prefix, REPORT_DATE))
        return mark["generation"] if mark and mark["generation"] not in earlier else None

    def _wait(self, process: subprocess.Popen[bytes], reached: Callable[[], str | bool | None]) -> str:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not (found := reached()):
            assert process.poll() is None, f"the run ended before the moment:\n{self.tail()}"
            assert time.monotonic() < deadline, f"the run never reached the moment:\n{self.tail()}"
            time.sleep(POLL_SECONDS)
        return str(found)


def assert_followed(lake: Lake, visible: dict[str, Any], killed: str) -> None:
    """Each Glue partition is on the visible generation, or on the killed run's when it was killed
    after moving it: a generation its own manifest calls complete, whose objects are all there."""
    for report, generation in followed(lake).items():
        if generation != visible["generation"]:
            manifest = own_manifest(lake, killed)
            assert generation == killed, report
            assert manifest is not None
            assert manifest["complete"] is True
            named = {key for target in manifest["targets"] for key in target["keys"].values()}
            assert lake.objects()[killed] == named


def test_a_rerun_killed_at_any_moment_leaves_one_complete_state_and_the_next_run_collects_the_rest(
    lake_of: Callable[[str], Lake], demo_registry: DemoRegistry, tmp_path: Path
) -> None:
    lake = lake_of("dag_killed")
    previous = complete_state(lake, demo_registry)
    child = Child(lake, tmp_path)
    generations = {previous["manifest"]["generation"]}

    for moment in MOMENTS:
        killed = child.kill_at(moment, generations)
        generations.add(killed)
        visible, own = lake.visible(), own_manifest(lake, killed)
        if visible["generation"] == killed:  # killed after the date's manifest moved: the new state
            assert moment in CLOSING
            assert visible == own
        else:
            assert visible == previous["manifest"], moment
            assert (own is not None) == (moment in CLOSING), moment  # killed at that moment
            lake.assert_being_rewritten()
        previous = {**previous, "manifest": visible}  # the same rows and repositories either way
        lake.assert_one_complete_state(previous)
        assert_followed(lake, visible, killed)

    child.run()
    after = lake.state()
    assert after["manifest"]["generation"] not in generations
    assert (after["manifest"]["complete"], after["athena"], after["page"]) == (
        True,
        previous["athena"],
        previous["page"],
    )
    lake.assert_one_complete_state(after)
    assert set(lake.objects()) == {after["manifest"]["generation"]}
    assert lake.hook.read_in_progress(lake.bucket, lake.prefix, REPORT_DATE) is None
    assert lake.page()[1] == ()
    assert list((child.tmp / TASKS_DIRECTORY).iterdir()) == []
