"""The DAG's trigger form is the settings table: same names, order, defaults and JSON schema."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import pytest

from ecr_provider.core.settings import DEFAULTS, SETTINGS
from tests.conftest import REPO_ROOT


def load_dag_module() -> ModuleType:
    """By path, as Airflow's DAG processor loads it (``dags/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("ecr_report_dag", REPO_ROOT / "dags" / "ecr_report.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def params() -> Any:
    return load_dag_module().dag.params


def test_the_params_are_the_settings_in_order(params: Any) -> None:
    assert list(params) == [setting.name for setting in SETTINGS]


@pytest.mark.parametrize("setting", SETTINGS, ids=[setting.name for setting in SETTINGS])
def test_each_param_has_the_settings_default_schema_and_description(params: Any, setting: Any) -> None:
    param = params.get_param(setting.name)

    assert param.value == setting.default
    assert param.schema == setting.schema
    assert param.description == setting.description
    assert param.description
    assert "\n" not in param.description


def test_the_trigger_form_defaults_are_the_settings_defaults(params: Any) -> None:
    assert params.validate() == DEFAULTS
