"""The ecr_report DAG run by ``dag.test()`` in a process of its own, for tests and benchmarks whose
subject is that boundary (a kill, a fresh process's start-up, what a child process logs)."""

from __future__ import annotations

DAG_TEST = """
import json, sys
from datetime import datetime, UTC
from airflow.utils.db import initdb
initdb()
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=sys.argv[1]).get_dag("ecr_report")
for task in dag.tasks:
    task.retries = 0
logical_date = datetime.fromisoformat(sys.argv[2]).replace(tzinfo=UTC)
run_after = datetime.fromisoformat(sys.argv[4]) if sys.argv[4:] else None
run = dag.test(logical_date=logical_date, run_conf=json.loads(sys.argv[3]), run_after=run_after)
print("dag.test() run state:", run.state)
"""
"""``python -c DAG_TEST dags_folder report_date conf_json [run_after]``, task retries off. One
``run_after`` gives every run the same run id, as Airflow's Clear reruns a run under its id."""
