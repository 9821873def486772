"""docs/operators.md: every example is the DAG's own code, and every operator of the package has a section."""

from __future__ import annotations

import importlib
import re
import textwrap

from ecr_provider.get_provider_info import get_provider_info
from tests.conftest import REPO_ROOT

PAGE = REPO_ROOT / "docs" / "operators.md"
DAG_FILE = REPO_ROOT / "dags" / "ecr_report.py"
SNIPPET = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def snippets() -> list[str]:
    return SNIPPET.findall(PAGE.read_text())


def test_every_snippet_is_in_the_dag_word_for_word() -> None:
    dag = DAG_FILE.read_text()
    found = snippets()
    assert len(found) >= 10
    for snippet in found:
        at_module_level = snippet in dag
        in_the_dag_block = textwrap.indent(snippet, "    ") in dag
        assert at_module_level or in_the_dag_block, snippet


def test_every_operator_of_the_package_has_a_section() -> None:
    """The base class is described in the page's first section, not as an operator of its own."""
    from airflow.models import BaseOperator

    from ecr_provider.operators.base_lake import ReportLakeOperator

    sections = set(re.findall(r"^## (\w+)$", PAGE.read_text(), re.M))
    (group,) = get_provider_info()["operators"]
    operators = {
        value.__name__
        for name in group["python-modules"]
        for value in vars(importlib.import_module(name)).values()
        if isinstance(value, type) and issubclass(value, BaseOperator) and value.__module__ == name
    }
    assert len(operators) == 11
    assert operators - {ReportLakeOperator.__name__} <= sections
