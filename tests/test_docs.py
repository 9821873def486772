"""The docs stand alone: a short README that is the wheel's description, links only to files the repository
holds, and the report contract's column tables equal to the code's. ``make docs`` builds the site with
``mkdocs build --strict`` (broken links and anchors between pages); this checks what mkdocs does not read."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from ecr_provider.core.columns import REPORTS, Column
from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
README_LIMIT_BYTES = 10_000
# A Markdown link or image: [text](target) — the target up to a space, ')' or '#'.
LINK = re.compile(r"\]\(([^)\s#]*)(#[^)\s]*)?\)")
EXTERNAL = ("http://", "https://", "mailto:")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def relative_links(path: Path) -> list[str]:
    """The targets of the file's links to other files, code blocks left out."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [target for target, _ in LINK.findall(text) if target and not target.startswith(EXTERNAL)]


def test_the_readme_is_short_and_the_wheels_description() -> None:
    assert README.stat().st_size <= README_LIMIT_BYTES
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["readme"] == "README.md"


def test_the_readme_gives_the_two_commands_and_links_every_page() -> None:
    readme = README.read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme
    linked = {(README.parent / target).resolve() for target in relative_links(README)}
    assert {page.resolve() for page in PAGES if page.name != "index.md"} <= linked


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda path: path.name)
def test_every_link_is_to_a_file_of_the_repository(path: Path) -> None:
    for target in relative_links(path):
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(REPO_ROOT), f"{path.name} links outside the repository: {target}"
        assert resolved.is_file(), f"{path.name} links to {target}, which the repository does not hold"


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda path: path.name)
def test_no_page_points_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "SPEC.md" not in text
    assert "../shared" not in text


def column_table(report: str) -> list[tuple[str, str, bool]]:
    """(header, kind, may be empty) of each row of the report's table in docs/reports.md, in order."""
    page = (DOCS / "reports.md").read_text(encoding="utf-8")
    section = re.search(rf"^### `{report}`\n(.*?)(?=^#)", page, re.MULTILINE | re.DOTALL)
    assert section is not None, f"docs/reports.md has no column table for {report}"
    rows = re.findall(r"^\| \d+ \| `([^`]+)` \| (\w+) \| (yes|no) \|", section.group(1), re.MULTILINE)
    return [(header, kind, empty == "yes") for header, kind, empty in rows]


@pytest.mark.parametrize(("report", "columns"), REPORTS.items())
def test_the_column_tables_are_the_codes_columns(report: str, columns: tuple[Column, ...]) -> None:
    assert column_table(report) == [(column.header, column.kind.value, column.optional) for column in columns]
