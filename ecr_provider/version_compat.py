"""The names whose home differs between the Airflow versions this provider supports, imported once.

Airflow 3.2 (Task SDK 1.2) moved the task exceptions to ``airflow.sdk.exceptions`` and the
configuration to ``airflow.sdk.conf`` and deprecates the old homes; Airflow 3.1 (Task SDK 1.1) has
them only in ``airflow.exceptions`` and ``airflow.configuration``, whose exceptions are the ones its
task runner catches. Import them from here, never from either home, as the amazon provider does with
its own ``version_compat``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow import __version__ as _airflow_version
from packaging.version import Version

AIRFLOW_V_3_2_PLUS: bool = Version(Version(_airflow_version).base_version) >= Version("3.2.0")

# The type checker reads the newest homes only (it runs on the newest Airflow, see constraints.txt).
if TYPE_CHECKING or AIRFLOW_V_3_2_PLUS:
    from airflow.sdk import conf
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
else:
    from airflow.configuration import conf
    from airflow.exceptions import AirflowFailException, AirflowSkipException

__all__ = ["AIRFLOW_V_3_2_PLUS", "AirflowFailException", "AirflowSkipException", "conf"]
