"""Organisation benchmark: the ecr_report DAG over 2,000 registries (200 accounts x 10 regions, most
empty, five large) against the emulator in its own process, the DAG run in this one with
``dag.test()``. Prints the registries, the mapped tasks (report and usage: every account and region
is read for usage too), wall time, the XCom bytes the run stored, the client CPU per empty and per
large registry, the warnings logged, the CPU of this process and of the emulator, and peak RSS (this
process: the DAG's tasks run in it one after the other, so the figure bounds a task's).

Client CPU is this process's (every thread's) user + system time over each registry of a report
task, from its hook to its outcome: the emulator runs in a process of its own, so none of its CPU is
counted, and the tasks run one at a time, so no other registry's is either.

Run ``python -m benchmarks.organisation [--accounts N] [--regions N] [--large N]`` (``make
benchmark`` runs it); 850 accounts x 10 regions is an organisation of 8,500 registries.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator.server import DUMMY_CREDENTIALS, client, emulator_process

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORT_DATE = "2026-11-20"
REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
)
LARGE = 5
"""Registries with 50 repositories and 5,000 images by default; the others are empty, as most of an
organisation's registries are (a region an account never pushed to)."""
BUCKET = "ecr-org-benchmark"


def accounts(count: int) -> list[str]:
    return [f"{400000000000 + number:012d}" for number in range(count)]


class _Warnings(logging.Handler):
    """Counts the warnings logged (and their characters) by message template."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.templates: Counter[str] = Counter()
        self.chars = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.templates[str(record.msg)] += 1
        self.chars += len(record.getMessage())


@contextmanager
def _registry_cpu() -> Iterator[list[tuple[int, float]]]:
    """(images, CPU seconds) of each registry the report tasks read, the operator's own method timed."""
    from ecr_provider.operators.registry_report import EcrRegistryReportOperator

    measured: list[tuple[int, float]] = []
    report = EcrRegistryReportOperator._report

    def timed(self: EcrRegistryReportOperator, *args: Any) -> Any:
        started = time.process_time()
        outcome = report(self, *args)
        images = outcome["summary"]["images"] if outcome["summary"] else 0
        measured.append((images, time.process_time() - started))
        return outcome

    EcrRegistryReportOperator._report = timed  # type: ignore[method-assign,assignment]
    try:
        yield measured
    finally:
        EcrRegistryReportOperator._report = report  # type: ignore[method-assign]


def _cpu_line(kind: str, seconds: list[float]) -> str:
    if not seconds:
        return f"  client CPU per {kind} registry: none read"
    return (
        f"  client CPU per {kind} registry ({len(seconds)}):"
        f" median {statistics.median(seconds) * 1000:.1f} ms, mean {statistics.mean(seconds) * 1000:.1f} ms,"
        f" max {max(seconds) * 1000:.1f} ms"
    )


def _processes_cpu() -> str:
    """Once the emulator has exited and been waited for: its CPU is then this process's children's."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    emulator = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        f"  CPU: {own.ru_utime + own.ru_stime:.1f} s in this process (Airflow and the client),"
        f" {emulator.ru_utime + emulator.ru_stime:.1f} s in the emulator (seeding included)"
    )


def _print_registries(cpu: list[tuple[int, float]], warnings: _Warnings, processes_cpu: str) -> None:
    print(processes_cpu)
    print(_cpu_line("empty", [cpu_seconds for images, cpu_seconds in cpu if images == 0]))
    print(_cpu_line("large", [cpu_seconds for images, cpu_seconds in cpu if images > 0]))
    print(f"  warnings logged: {warnings.templates.total()} ({warnings.chars} characters)")
    for template, count in warnings.templates.most_common(5):
        print(f"    {count} x {template[:100]!r}")


def _task_seconds(run: Any, task_id: str) -> tuple[list[Any], list[float]]:
    """The run's mapped instances of ``task_id``, and how long each that finished took."""
    instances = [ti for ti in run.get_task_instances() if ti.task_id == task_id]
    return instances, [(ti.end_date - ti.start_date).total_seconds() for ti in instances if ti.end_date]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.organisation")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", type=int, default=len(REGIONS))
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--large", type=int, default=LARGE, help="registries of 5,000 images")
    args = parser.parse_args()
    members = accounts(args.accounts)
    regions = REGIONS[: args.regions]
    large = [
        f"{members[number]}:{regions[number % len(regions)]}:50:5000"
        for number in range(min(args.large, len(members)))
    ]
    home = tempfile.mkdtemp(prefix="ecr-org-benchmark-")
    os.environ.update(
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        **{name.upper(): value for name, value in DUMMY_CREDENTIALS.items()},
    )
    options = [f"--synthetic={spec}" for spec in large]
    with emulator_process("--as-of", f"{REPORT_DATE}T00:00:00+00:00", *options) as endpoint_url:
        client("s3", endpoint_url, "us-east-1").create_bucket(Bucket=BUCKET)
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": endpoint_url, "region_name": "us-east-1"}}
        )
        from airflow.dag_processing.dagbag import DagBag
        from airflow.models.xcom import XComModel
        from airflow.utils.db import initdb
        from airflow.utils.session import create_session
        from sqlalchemy import func

        initdb()
        dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "ecr_report.py")).get_dag("ecr_report")
        assert dag is not None
        for task in dag.tasks:
            task.retries = 0
        conf = {
            "regions": list(regions),
            "accounts": members,
            "role_name": "ecr-report",
            "report_bucket": BUCKET,
            "price_per_gb_month": 0.10,
            "storage_threshold_gb": 100_000,
            "batch_size": args.batch_size,
        }
        warnings = _Warnings()
        logging.getLogger("ecr_provider").addHandler(warnings)
        started = time.perf_counter()
        with _registry_cpu() as cpu:
            run = dag.test(
                logical_date=datetime.fromisoformat(REPORT_DATE).replace(tzinfo=UTC), run_conf=conf
            )
        seconds = time.perf_counter() - started
        logging.getLogger("ecr_provider").removeHandler(warnings)
        reports, durations = _task_seconds(run, "registry_report")
        usage, usage_durations = _task_seconds(run, "usage")
        with create_session() as session:
            xcom_bytes = (
                session.query(func.sum(func.length(XComModel.value)))
                .filter(XComModel.run_id == run.run_id)
                .scalar()
            )
        manifest = json.loads(
            client("s3", endpoint_url, "us-east-1")
            .get_object(Bucket=BUCKET, Key=f"ecr-reports/_runs/report_date={REPORT_DATE}/manifest.json")[
                "Body"
            ]
            .read()
        )
    processes_cpu = _processes_cpu()
    totals = manifest["totals"]
    registries = totals["targets"]
    print(f"{len(members)} accounts x {len(regions)} regions: {registries} registries, {len(large)} large")
    print(f"  run {run.state}, manifest complete: {manifest['complete']}, {totals['loaded']} loaded")
    print(f"  {totals['repositories']} repositories, {totals['images']} images")
    print(f"  mapped report tasks: {len(reports)}, usage tasks: {len(usage)} (batch size {args.batch_size})")
    for name, seconds_of in (("report", durations), ("usage", usage_durations)):
        print(
            f"  {name} task seconds: median {statistics.median(seconds_of):.1f}, max {max(seconds_of):.1f}"
            if seconds_of
            else f"  no {name} task finished"
        )
    print(
        f"  wall time of the run: {seconds:.1f} s ({seconds / totals['targets'] * 1000:.1f} ms per registry)"
    )
    _print_registries(cpu, warnings, processes_cpu)
    print(f"  XCom stored by the run: {xcom_bytes} bytes")
    print(f"  peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    sys.exit(0 if run.state == "success" else 1)


if __name__ == "__main__":
    main()
