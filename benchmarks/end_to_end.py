"""End-to-end benchmark: the ``ecr-report`` command as people run it, against the original tool.

The emulator (its own process) holds a synthetic registry of 300 repositories and 6,000 images, adds 20
ms to every request and replays each read's first answer, so its own CPU is charged to neither client.
Each command runs as a whole process (``ecr-report`` as installed beside this interpreter: start-up,
reads, files, HTML report, publishing) and its wall time is taken from outside; ``ecr-report`` prints
its own ``phases:`` line, whose medians are shown per phase. Every command runs once first, unmeasured,
so that the emulator has computed its answers. With ``--original PATH`` the seed's ``app.py`` runs too,
in a virtualenv of its own under ``build/`` made from the ``requirements.txt`` beside it; it writes its
reports to ``/data``, which it hard-codes.

The DAG's report task is measured on the same registry: each run is ``dag.test()`` in a process of its
own (an Airflow home of its own, migrated by the unmeasured run), the registry in a batch of one, and
the task's own log line gives its phases and the time from the task's start to its outcome written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

AS_OF = "2026-11-01T00:00:00+00:00"
REGION = "us-east-1"
REPOSITORIES = 300
IMAGES = 6_000
LATENCY_MS = 20
ORIGINAL_VENV = Path("build") / "original-venv"
ORIGINAL_OUTPUT = Path("/data")
_PHASE = re.compile(r"([a-z-]+) (\d+\.\d+) s")
_OUTCOME_WRITTEN = re.compile(r"outcome written (\d+\.\d+) s after the task started")
BUCKET = "ecr-end-to-end-benchmark"


@dataclass
class Runs:
    """The wall times of one command, and its phases per run when it prints them."""

    label: str
    walls: list[float] = field(default_factory=list)
    phases: list[dict[str, float]] = field(default_factory=list)
    digest: str = ""

    def spread(self) -> str:
        return (
            f"min {min(self.walls):6.2f} s, median {statistics.median(self.walls):6.2f} s, "
            f"max {max(self.walls):6.2f} s"
        )


def phases_of(log: str) -> dict[str, float]:
    """The seconds per phase of the first ``phases:`` line (``ecr-report``'s, or the task's)."""
    line = next((line for line in log.splitlines() if "phases: " in line), log)
    return {
        name: float(seconds) for name, seconds in _PHASE.findall(line.split("phases: ", 1)[-1].split(";")[0])
    }


def folder_digest(folder: Path) -> str:
    """One SHA-256 over the folder's report files (names and bytes), to show that runs agree."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def timed(
    command: Sequence[str], environment: dict[str, str], cwd: Path, *, both: bool = False
) -> tuple[float, str]:
    """Wall seconds and standard error (with ``both``, standard output before it)."""
    started = time.perf_counter()
    result = subprocess.run(command, check=False, env=environment, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} exited with {result.returncode}:\n{result.stderr[-2000:]}")
    return wall, (result.stdout + result.stderr if both else result.stderr)


def original_python(app: Path) -> Path:
    """The original's interpreter: a virtualenv under ``build/`` with its pinned requirements."""
    python = ORIGINAL_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ORIGINAL_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(app.parent / "requirements.txt")],
            check=True,
        )
    return python


def run_ecr_report(
    label: str, extra: Sequence[str], environment: dict[str, str], repeat: int, workdir: Path
) -> Runs:
    runs = Runs(label)
    output = workdir / label.replace(" ", "-")
    command = [
        str(Path(sys.executable).parent / "ecr-report"),
        "--output-dir",
        str(output),
        "--as-of",
        AS_OF,
        *extra,
    ]
    timed(command, environment, workdir)
    for _ in range(repeat):
        wall, log = timed(command, environment, workdir)
        runs.walls.append(wall)
        runs.phases.append(phases_of(log))
    runs.digest = folder_digest(output)
    return runs


def run_original(app: Path, environment: dict[str, str], repeat: int, workdir: Path) -> Runs:
    runs = Runs("original app.py")
    try:
        ORIGINAL_OUTPUT.mkdir(exist_ok=True)
    except OSError as error:
        raise SystemExit(f"the original writes to {ORIGINAL_OUTPUT}, which cannot be made: {error}") from None
    command = [str(original_python(app).absolute()), str(app.absolute())]
    original_environment = {**environment, "LOG_VERBOSITY": "ERROR"}
    timed(command, original_environment, workdir)
    for _ in range(repeat):
        runs.walls.append(timed(command, original_environment, workdir)[0])
    return runs


def run_dag_task(environment: dict[str, str], repeat: int, workdir: Path) -> Runs:
    """The report task's phases and time to its outcome, from its log, over ``repeat`` DAG runs;
    ``task set-up`` is the time from the task's start to its registry's first phase (plan, usage,
    clients)."""
    from emulator.dag_process import DAG_TEST
    from emulator.server import client

    client("s3", environment["AWS_ENDPOINT_URL"], REGION).create_bucket(Bucket=BUCKET)
    dag_file = Path(__file__).resolve().parents[1] / "dags" / "ecr_report.py"
    airflow = {
        **environment,
        "AIRFLOW_HOME": str(workdir / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dag_file.parent),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {
                "conn_type": "aws",
                "extra": {"endpoint_url": environment["AWS_ENDPOINT_URL"], "region_name": REGION},
            }
        ),
    }
    conf = {"regions": [REGION], "report_bucket": BUCKET, "batch_size": 1}
    command = [sys.executable, "-c", DAG_TEST, str(dag_file.parent), AS_OF, json.dumps(conf)]
    runs = Runs("DAG report task")
    for number in range(repeat + 1):
        log = timed(command, airflow, workdir, both=True)[1]
        line = next(
            (line for line in log.splitlines() if "phases: " in line and "outcome written" in line), ""
        )
        written = _OUTCOME_WRITTEN.search(line)
        if "dag.test() run state: success" not in log or written is None:
            raise SystemExit(f"the DAG run did not report its registry:\n{log[-4000:]}")
        if number:
            phases = phases_of(line.split(" phases: ", 1)[1])
            runs.walls.append(float(written.group(1)))
            runs.phases.append({"task set-up": runs.walls[-1] - sum(phases.values()), **phases})
    return runs


def print_phases(runs: Runs) -> None:
    names = list(dict.fromkeys(name for phases in runs.phases for name in phases))
    medians = {name: statistics.median(p.get(name, 0.0) for p in runs.phases) for name in names}
    print(f"    phases (medians): {', '.join(f'{name} {medians[name]:.2f} s' for name in names)}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.end_to_end", description=__doc__)
    parser.add_argument("--original", type=Path, metavar="PATH", help="the original tool's app.py")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs of each command (default 5)")
    args = parser.parse_args()
    if args.repeat < 1:
        raise SystemExit(f"--repeat {args.repeat} must be at least 1")
    if args.original is not None and not args.original.is_file():
        raise SystemExit(f"--original {args.original} is not a file")
    from emulator.server import DUMMY_CREDENTIALS, emulator_process

    emulator = ("--synthetic", f"{REPOSITORIES}:{IMAGES}", "--as-of", AS_OF, "--latency-ms", str(LATENCY_MS))
    with emulator_process(*emulator, "--replay-reads") as endpoint_url, tempfile.TemporaryDirectory() as work:
        environment = {
            **os.environ,
            **{name.upper(): value for name, value in DUMMY_CREDENTIALS.items()},
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "LOG_VERBOSITY": "INFO",
        }
        workdir = Path(work)
        print(
            f"{REPOSITORIES} repositories, {IMAGES:,} images, {LATENCY_MS} ms per call, answers replayed; "
            f"{args.repeat} runs each after one unmeasured, {os.cpu_count()} CPUs"
        )
        measured = [
            run_ecr_report("ecr-report defaults", [], environment, args.repeat, workdir),
            run_ecr_report(
                "ecr-report concurrency 1", ["--max-concurrency", "1"], environment, args.repeat, workdir
            ),
        ]
        if args.original is not None:
            measured.append(run_original(args.original, environment, args.repeat, workdir))
        task = run_dag_task(environment, args.repeat, workdir)
        fastest = statistics.median(measured[0].walls)
        for runs in measured:
            ratio = statistics.median(runs.walls) / fastest
            print(f"  {runs.label:<26} {runs.spread()}  ({ratio:.1f}x the defaults' median)")
            if runs.phases:
                print_phases(runs)
        same = "identical" if measured[0].digest == measured[1].digest else "DIFFERENT"
        print(f"  reports of the two ecr-report runs: {same}")
        print(f"  {task.label:<26} {task.spread()}  (task start to outcome written, batch of one registry)")
        print_phases(task)


if __name__ == "__main__":
    main()
