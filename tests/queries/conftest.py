"""One data lake of demo reports for the whole folder: building it seeds and reads the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from emulator.preview import connect
from tests.queries.lake import Lake, build_lake


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return build_lake(tmp_path_factory.mktemp("lake"))


@pytest.fixture(scope="session")
def duck(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(lake.root, lake.reports) as connection:
        yield connection
