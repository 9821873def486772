"""The session's data lake of demo reports (tests/conftest.py) for the whole folder, and DuckDB over it."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from emulator.preview import connect
from tests.queries.lake import Lake


@pytest.fixture(scope="session")
def lake(demo_lake: Lake) -> Lake:
    return demo_lake


@pytest.fixture(scope="session")
def duck(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(lake.root, lake.reports) as connection:
        yield connection
