"""``ecr-report`` rerun into a folder holding a complete report, killed, stopped or raced by a second
run: the folder always holds one complete report, the previous or the new, never a mix.

The command runs in a process of its own against the emulator, as a user runs it; the rerun differs
from the first run (another reclaim age) so that every file tells which run wrote it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecr_provider.output_folder import LOCK_NAME, STAGING_PREFIX
from emulator.server import ACCOUNT_ID, Emulator
from emulator.synthetic_registry import seed_synthetic_registry
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

REGION = "us-east-1"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
EMULATOR_OPTIONS = {"latency_ms": 10}
"""Read by the ``emulator`` fixture: slow enough answers that a run lasts seconds, to be killed in."""
FIRST = ("--reclaim-after-days", "90")
RERUN = ("--reclaim-after-days", "30")
KILL_AT = {
    "reading": lambda staged: not staged,
    "writing": lambda staged: any(path.suffix == ".csv" and path.stat().st_size for path in staged),
    "publishing": lambda staged: any(path.name == "report.html" for path in staged),
}
"""Moments of a rerun at which it is killed, told by what its temporary folder holds (not by time, which
a loaded machine stretches): nothing yet, report rows, the page written after every CSV."""

Report = dict[str, bytes]
Reports = tuple[Path, Report, Report, float]


def command(folder: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ecr_provider.cli",
        "--output-dir",
        str(folder),
        "--region",
        REGION,
        "--as-of",
        AS_OF.isoformat(),
        "--read-manifests",
        "never",
        "--max-concurrency",
        "2",
        "--include-findings",
        *options,
    ]


def start(emulator: Emulator, folder: Path, *options: str) -> subprocess.Popen[str]:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environ.update(
        PYTHONPATH=str(REPO_ROOT),
        AWS_ENDPOINT_URL=emulator.endpoint_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return subprocess.Popen(
        command(folder, *options),
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def files(folder: Path) -> Report:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()} | {
        LOCK_NAME: b""
    }


def temporary_folders(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob(STAGING_PREFIX + "*"))


def run_whole(emulator: Emulator, folder: Path, *options: str) -> tuple[Report, float]:
    started = time.monotonic()
    code, stderr = finish(start(emulator, folder, *options))
    assert code == 0, stderr[-3000:]
    return files(folder), time.monotonic() - started


def start_holding_the_lock(emulator: Emulator, folder: Path, *options: str) -> subprocess.Popen[str]:
    """A run started, once it has the folder's lock and has named itself in it."""
    process = start(emulator, folder, *options)
    deadline = time.monotonic() + 60
    while f"pid {process.pid}," not in _text(folder / LOCK_NAME):
        assert process.poll() is None, "the run ended before it locked the folder"
        assert time.monotonic() < deadline, "the run never locked the folder"
        time.sleep(0.02)
    return process


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.fixture(scope="module")
def reports(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """The first run's folder and files, the rerun's files, and how long a rerun takes."""
    seed_synthetic_registry(ACCOUNT_ID, REGION, repositories=80, images=1600, as_of=AS_OF)
    folder = tmp_path_factory.mktemp("first")
    first, _ = run_whole(emulator, folder, *FIRST)
    rerun, seconds = run_whole(emulator, tmp_path_factory.mktemp("rerun"), *RERUN)
    assert (
        first.keys()
        == rerun.keys()
        == {
            LOCK_NAME,
            "repositories_summary.csv",
            "images_summary.csv",
            "image_findings.csv",
            "registries_summary.csv",
            "report.html",
        }
    )
    assert all(first[name] != rerun[name] for name in first if name not in (LOCK_NAME, "image_findings.csv"))
    return folder, first, rerun, seconds


@pytest.fixture
def complete(reports: Reports, tmp_path: Path) -> Path:
    """A folder holding the first run's complete report (a copy of the first run's folder)."""
    written, first, _, _ = reports
    folder = tmp_path / "out"
    shutil.copytree(written, folder)
    assert files(folder) == first
    return folder


def wait_until(process: subprocess.Popen[str], folder: Path, moment: str) -> None:
    """Until the run holding ``folder``'s lock has reached ``moment`` of :data:`KILL_AT`."""
    reached = KILL_AT[moment]
    deadline = time.monotonic() + 120
    while not _reached(reached, folder, process.pid):
        assert process.poll() is None, f"the run ended before {moment}"
        assert time.monotonic() < deadline, f"the run never reached {moment}"
        time.sleep(0.005)


def _reached(reached: Callable[[list[Path]], bool], folder: Path, pid: int) -> bool:
    try:
        return any(reached(list(staging.iterdir())) for staging in folder.glob(f"{STAGING_PREFIX}{pid}-*"))
    except FileNotFoundError:  # a file renamed into place while it was looked at
        return False


@pytest.mark.parametrize("moment", KILL_AT)
def test_a_rerun_killed_leaves_the_previous_report_whole(
    moment: str, emulator: Emulator, reports: Reports, complete: Path
) -> None:
    _, first, rerun, _ = reports
    process = start_holding_the_lock(emulator, complete, *RERUN)
    wait_until(process, complete, moment)
    process.kill()

    assert process.wait() == -signal.SIGKILL  # killed while it ran
    assert files(complete) in (first, rerun)
    # The next run reclaims the killed run's temporary folder and writes its own report.
    assert run_whole(emulator, complete, *RERUN)[0] == rerun
    assert temporary_folders(complete) == []


def test_a_rerun_stopped_by_sigterm_removes_its_temporary_folder(
    emulator: Emulator, reports: Reports, complete: Path
) -> None:
    _, first, _, seconds = reports
    process = start_holding_the_lock(emulator, complete, *RERUN)
    time.sleep(seconds / 3)
    assert temporary_folders(complete), "the rerun had not started writing"
    process.send_signal(signal.SIGTERM)

    code, _ = finish(process)

    assert code == 128 + signal.SIGTERM
    assert temporary_folders(complete) == []
    assert files(complete) == first


def test_a_second_run_into_the_folder_fails_at_once_naming_the_first(
    emulator: Emulator, reports: Reports, complete: Path
) -> None:
    _, _, rerun, seconds = reports
    first_run = start_holding_the_lock(emulator, complete, *RERUN)
    started = time.monotonic()

    code, stderr = finish(start(emulator, complete, *FIRST))

    assert code == 1
    assert time.monotonic() - started < seconds
    (line,) = stderr.splitlines()
    assert line.startswith(f"ecr-report: error: {complete} is being written by another ecr-report run ")
    assert f"(pid {first_run.pid}, started " in line
    assert finish(first_run)[0] == 0
    assert files(complete) == rerun
