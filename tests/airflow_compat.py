"""Airflow names the tests use whose home differs between the supported Airflow versions.

The product's are :mod:`ecr_provider.version_compat`'s, whose version flag this reuses: Airflow 3.2
moved ``DagBag`` to ``airflow.dag_processing.dagbag``; Airflow 3.1 has it only in
``airflow.models.dagbag``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecr_provider.version_compat import AIRFLOW_V_3_2_PLUS

# The type checker reads the newest home only (it runs on the newest Airflow, see constraints.txt).
if TYPE_CHECKING or AIRFLOW_V_3_2_PLUS:
    from airflow.dag_processing.dagbag import DagBag
else:
    from airflow.models.dagbag import DagBag

__all__ = ["DagBag"]
