"""The page's templates are compiled once per user and kept; without a private temporary folder the
page is rendered all the same, its templates compiled in the process."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

from ecr_provider.core.html_report import ReportPage
from ecr_provider.pages import render


@pytest.fixture
def fresh_environment() -> Iterator[None]:
    render.environment.cache_clear()
    yield
    render.environment.cache_clear()


def test_the_compiled_templates_are_kept_and_give_the_same_page(
    fresh_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    page = ReportPage("2026-11-20", [])

    first = render.render_report(page)
    [folder] = tmp_path.glob("_jinja2-cache-*")
    kept = sorted(folder.iterdir())
    render.environment.cache_clear()

    assert kept
    assert render.render_report(page) == first


def test_without_a_private_temporary_folder_the_page_is_still_rendered(
    fresh_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object) -> None:
        raise RuntimeError("Cannot determine safe temp directory.")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "__init__", refused)

    assert "<html" in render.render_report(ReportPage("2026-11-20", []))
