"""Airflow discovers the provider through its entry point, and everything it lists imports."""

from __future__ import annotations

import importlib
import json
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema

from ecr_provider.get_provider_info import get_provider_info


def test_provider_info_is_registered_and_valid_for_airflow() -> None:
    (entry,) = [
        e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("ecr_provider")
    ]
    info = entry.load()()
    assert info == get_provider_info()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)


def test_every_listed_module_imports_and_holds_an_airflow_class() -> None:
    info = get_provider_info()
    modules = [m for kind in ("operators", "hooks") for group in info[kind] for m in group["python-modules"]]
    assert len(modules) == 14
    for name in modules:
        module = importlib.import_module(name)
        assert any(getattr(obj, "__module__", "") == name for obj in vars(module).values()), name


def test_every_extra_link_is_an_aws_console_link() -> None:
    from airflow.providers.amazon.aws.links.base_aws import BaseAwsLink

    for path in get_provider_info()["extra-links"]:
        module, name = path.rsplit(".", 1)
        assert issubclass(getattr(importlib.import_module(module), name), BaseAwsLink), path
