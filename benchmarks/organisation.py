"""Organisation benchmark: the ecr_report DAG over 2,000 registries (200 accounts x 10 regions, most
empty, five large) against the emulator in its own process, the DAG run in this one with
``dag.test()``. Prints the registries, the mapped tasks (report and usage: every account and region
is read for usage too), wall time, the XCom bytes the run stored and
peak RSS (this process: the DAG's tasks run in it one after the other, so the figure bounds a task's).

Run ``python -m benchmarks.organisation [--accounts N] [--regions N]`` (``make benchmark`` runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

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
"""Registries with 50 repositories and 5,000 images; the others are empty, as most of an
organisation's registries are (a region an account never pushed to)."""
BUCKET = "ecr-org-benchmark"


def accounts(count: int) -> list[str]:
    return [f"{400000000000 + number:012d}" for number in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.organisation")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", type=int, default=len(REGIONS))
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    members = accounts(args.accounts)
    regions = REGIONS[: args.regions]
    large = [
        f"{members[number]}:{regions[number % len(regions)]}:50:5000"
        for number in range(min(LARGE, len(members)))
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
        started = time.perf_counter()
        run = dag.test(logical_date=datetime.fromisoformat(REPORT_DATE).replace(tzinfo=UTC), run_conf=conf)
        seconds = time.perf_counter() - started
        reports = [ti for ti in run.get_task_instances() if ti.task_id == "registry_report"]
        durations = [(ti.end_date - ti.start_date).total_seconds() for ti in reports if ti.end_date]
        usage = [ti for ti in run.get_task_instances() if ti.task_id == "usage"]
        usage_durations = [(ti.end_date - ti.start_date).total_seconds() for ti in usage if ti.end_date]
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
    print(f"  XCom stored by the run: {xcom_bytes} bytes")
    print(f"  peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    sys.exit(0 if run.state == "success" else 1)


if __name__ == "__main__":
    main()
