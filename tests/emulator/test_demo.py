"""``make demo`` finds the DAG and writes its state inside the checkout, wherever the checkout is."""

from __future__ import annotations

from emulator import demo
from tests.conftest import REPO_ROOT


def test_the_demo_runs_the_checkouts_dag_and_keeps_its_state_in_the_checkout() -> None:
    assert demo.REPO_ROOT == REPO_ROOT
    assert (demo.REPO_ROOT / "dags" / "ecr_report.py").is_file()
