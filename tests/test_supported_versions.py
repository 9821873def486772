"""The declared versions are the tested ones: the lowest environment pins the package's lower bounds,
and the installation docs name the versions each end is tested with."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LABELS = {
    "apache-airflow": "Apache Airflow",
    "apache-airflow-providers-amazon": "`apache-airflow-providers-amazon`",
}
"""The packages whose lower bound is tested, as the docs' table names them."""
BOUNDED = (*LABELS, "cachetools")


def pins(constraints: str) -> dict[str, Version]:
    lines = (ROOT / constraints).read_text(encoding="utf-8").splitlines()
    requirements = [Requirement(line) for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(req.name): Version(next(iter(req.specifier)).version) for req in requirements}


def lower_bound(name: str) -> Version:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (requirement,) = [req for req in map(Requirement, project["dependencies"]) if req.name == name]
    (bound,) = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    return Version(bound)


@pytest.mark.parametrize("name", BOUNDED)
def test_the_lowest_environment_pins_the_declared_lower_bound(name: str) -> None:
    assert pins("constraints-lowest.txt")[name] == lower_bound(name)


def test_the_installation_docs_name_the_versions_tested_at_each_end() -> None:
    lowest, newest = pins("constraints-lowest.txt"), pins("constraints.txt")
    page = (ROOT / "docs" / "installing.md").read_text(encoding="utf-8")
    for name, label in LABELS.items():
        row = f"| {label} | {lowest[name]} | {newest[name]} |"
        assert row in page, row
