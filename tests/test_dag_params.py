"""The DAG's trigger form is the settings table: the same names and order, each field nullable so a
form submitted with every default untouched is valid and leaves the values to the configuration."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from ecr_provider.core.settings import CONFIG_VARIABLE, REPORT_DATE_PARAM, SETTINGS, Section
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


def test_the_params_are_the_settings_in_order_then_the_report_date(params: Any) -> None:
    assert list(params) == [*(setting.name for setting in SETTINGS), REPORT_DATE_PARAM.name]


@pytest.mark.parametrize("setting", SETTINGS, ids=[setting.name for setting in SETTINGS])
def test_each_field_starts_empty_and_says_what_empty_means(params: Any, setting: Any) -> None:
    param = params.get_param(setting.name)

    assert param.value is None
    assert param.description == setting.form_description
    assert param.description.startswith(setting.description)
    assert f"Empty: the value in {CONFIG_VARIABLE}, else {json.dumps(setting.default)}." in param.description
    assert "\n" not in param.description


@pytest.mark.parametrize("setting", SETTINGS, ids=[setting.name for setting in SETTINGS])
def test_each_field_admits_empty_and_the_built_in_default_and_keeps_its_bounds(
    params: Any, setting: Any
) -> None:
    schema = params.get_param(setting.name).schema

    jsonschema.validate(None, schema)
    jsonschema.validate(setting.default, schema)
    bad = {
        "integer": 1.5,
        "number": "many",
        "boolean": "yes",
        "array": "us-east-1",
        "object": [],
        "string": 7,
    }
    wrong = next(value for kind, value in bad.items() if kind in schema["type"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)


def test_a_choice_is_offered_as_examples_so_the_form_shows_no_null_option(params: Any) -> None:
    """The form renders an enum as a select whose empty choice reads "null"; resolve_settings refuses
    a value outside the examples, naming what is allowed."""
    schema = params.get_param("read_manifests").schema

    assert schema == {
        "type": ["null", "string"],
        "examples": ["if-excluded", "always", "never"],
        "section": "What to read",
    }


def test_a_form_submitted_untouched_is_valid_and_all_empty(params: Any) -> None:
    assert params.validate() == {name: None for name in params}


def test_the_report_date_field_takes_a_date_or_nothing(params: Any) -> None:
    schema = params.get_param(REPORT_DATE_PARAM.name).schema
    jsonschema.validate("2026-11-20", schema)
    jsonschema.validate(None, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(20261120, schema)


def test_the_form_groups_its_fields_in_the_tables_sections_in_order(params: Any) -> None:
    """Airflow 3's trigger form draws each section once, where its first field is, with every field
    of that section in it; the report date joins "Where reports go"."""
    sections = [params.get_param(name).schema["section"] for name in params]

    assert sections == [*(setting.section.value for setting in SETTINGS), Section.DESTINATION.value]
    assert list(dict.fromkeys(sections)) == [section.value for section in Section]
