"""Airflow cluster policy for test runs that are meant to fail: no task retries, so no retry delay.

A directory on ``PYTHONPATH`` holding ``airflow_local_settings`` is how Airflow loads cluster
policies; ``task_policy`` runs for every task when the DAG file is parsed, ``airflow dags test``
included, so the DAG's ``default_args`` (2 retries, 2 minutes apart) stay as they are.
"""

from __future__ import annotations

from typing import Any


def task_policy(task: Any) -> None:
    task.retries = 0
