"""docs/deploying.md's "Try it in a local Airflow", run as a newcomer would: its ```bash blocks, read from
the page, in order in one fresh shell (no AIRFLOW_HOME, no virtual environment, no AWS variables) from
the root of a fresh copy of the repository. Airflow's default ports stay taken meanwhile, as another
Airflow on the machine would hold them, so every listener must be on a port of its own."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chromium import ARTIFACTS
from tests.conftest import REPO_ROOT
from tests.deployment.conftest import COMPONENTS, DAG_ID, error_lines

PAGE = REPO_ROOT / "docs" / "deploying.md"
SECTION = "## Try it in a local Airflow"
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)
OUTCOME = re.compile(r"ecr_report run (?P<run_id>\S+): (?P<state>\w+)")
SCRIPT_TIMEOUT = 1500.0
AIRFLOW_DEFAULT_PORTS = (8080, 8793, 8794)
"""The api-server's and the two log servers' (task processes, triggerer)."""
FRESH_SHELL_VARIABLES = ("PATH", "HOME", "LANG", "USER", "LOGNAME", "TMPDIR")
# The install alone takes minutes on a busy machine: more than pytest's default timeout for the whole.
pytestmark = [pytest.mark.deployment, pytest.mark.integration, pytest.mark.timeout(SCRIPT_TIMEOUT + 300)]


def section_blocks() -> list[str]:
    page = PAGE.read_text(encoding="utf-8")
    start = page.index(SECTION)
    end = page.find("\n## ", start + len(SECTION))
    return BASH_BLOCK.findall(page[start : end if end != -1 else len(page)])


def fresh_shell_environment(try_dir: Path) -> dict[str, str]:
    """A login shell's variables and the machine's pip settings; nothing of this checkout's virtual
    environment, of Airflow or of AWS."""
    environment = {name: os.environ[name] for name in FRESH_SHELL_VARIABLES if name in os.environ}
    environment.update({name: value for name, value in os.environ.items() if name.startswith("PIP_")})
    path = environment.get("PATH", "").split(os.pathsep)
    environment["PATH"] = os.pathsep.join(entry for entry in path if not entry.startswith(str(REPO_ROOT)))
    environment["TRY_DIR"] = str(try_dir)
    return environment


def fresh_copy(target: Path) -> Path:
    """The files a clone of this working tree would hold: tracked and new ones, nothing git ignores."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@contextlib.contextmanager
def ports_held(ports: tuple[int, ...]) -> Iterator[None]:
    """Listens on each port that is free, as another Airflow on the machine would."""
    held: list[socket.socket] = []
    try:
        for port in ports:
            listener = socket.socket()
            try:
                listener.bind(("0.0.0.0", port))
                listener.listen()
            except OSError:
                listener.close()  # already taken: the point holds all the same
                continue
            held.append(listener)
        yield
    finally:
        for listener in held:
            listener.close()


@dataclass(frozen=True)
class TryIt:
    done: subprocess.CompletedProcess[str]
    folder: Path
    """TRY_DIR: the logs, the pids of what it started, PostgreSQL's data."""

    @property
    def last_line(self) -> str:
        lines = self.done.stdout.strip().splitlines()
        return lines[-1] if lines else ""


def group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_what_is_left(try_dir: Path) -> None:
    """What the section started, should it have stopped before its last block."""
    pids = try_dir / "pids"
    for pid in map(int, pids.read_text().split()) if pids.exists() else ():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    data = try_dir / "postgres" / "data"
    if (data / "postmaster.pid").exists():
        run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*run_as, "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"], check=False)


@pytest.fixture(scope="module")
def try_it(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TryIt]:
    """The section's blocks run as one script."""
    blocks = section_blocks()
    work = tmp_path_factory.mktemp("try-it")
    clone = fresh_copy(work / "clone")
    # Under /tmp as the page's own `mktemp -d` would be: PostgreSQL's user must reach it, and pytest's
    # folders are private to root.
    try_dir = Path(tempfile.mkdtemp(prefix="ecr-report-try-it-"))
    script = work / "try-it.sh"
    script.write_text("\n".join(blocks))
    started = time.monotonic()
    ended_cleanly = False
    try:
        with ports_held(AIRFLOW_DEFAULT_PORTS):
            done = subprocess.run(
                ["bash", "-e", "-o", "pipefail", str(script)],
                cwd=clone,
                env=fresh_shell_environment(try_dir),
                capture_output=True,
                text=True,
                timeout=SCRIPT_TIMEOUT,
                check=False,
                start_new_session=True,
            )
        ended_cleanly = done.returncode == 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "try-it-locally.log").write_text(
            f"{done.stdout}\n--- stderr ---\n{done.stderr}\n--- {time.monotonic() - started:.0f} s ---\n"
        )
        yield TryIt(done, try_dir)
    finally:
        if not ended_cleanly:  # its last block stops all it started; a pid may have been reused since
            stop_what_is_left(try_dir)
        shutil.rmtree(try_dir, ignore_errors=True)


def test_the_section_has_its_blocks() -> None:
    blocks = section_blocks()
    assert len(blocks) >= 5
    assert 'echo "ecr_report run $RUN_ID: $STATE"' in blocks[-1]


def test_the_section_runs_and_its_last_line_is_a_successful_run(try_it: TryIt) -> None:
    assert try_it.done.returncode == 0, f"{try_it.done.stdout[-5000:]}\n{try_it.done.stderr[-5000:]}"
    outcome = OUTCOME.fullmatch(try_it.last_line)
    assert outcome is not None, try_it.last_line
    assert outcome["state"] == "success", try_it.last_line


def test_the_run_went_through_every_task(try_it: TryIt) -> None:
    outcome = OUTCOME.fullmatch(try_it.last_line)
    assert outcome is not None, try_it.last_line
    run_logs = try_it.folder / "airflow" / "logs" / f"dag_id={DAG_ID}" / f"run_id={outcome['run_id']}"
    tasks = {path.name for path in run_logs.glob("task_id=*")}
    assert {"task_id=resolve_settings", "task_id=run_manifest", "task_id=notify_over_threshold"} <= tasks


def test_everything_it_started_is_stopped(try_it: TryIt) -> None:
    pids = [int(pid) for pid in (try_it.folder / "pids").read_text().split()]
    assert len(pids) == 1 + len(COMPONENTS)  # the emulator and the four components
    assert [pid for pid in pids if group_alive(pid)] == []
    assert not (try_it.folder / "postgres" / "data" / "postmaster.pid").exists()


def test_the_components_logged_no_error(try_it: TryIt) -> None:
    logged = {name: (try_it.folder / f"{name}.log").read_text(errors="replace") for name in COMPONENTS}
    assert {name: error_lines(text) for name, text in logged.items() if error_lines(text)} == {}
    assert not [name for name, text in logged.items() if "Address already in use" in text]
