"""DuckDB, reading with the Glue tables' escape character, gets the free text Athena gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.preview import connect
from tests.core.test_csv_opencsv import REPORT_COLUMNS, adversarial_rows, as_meant, canonical_text, free_text

REPORT_DATE = "2026-11-20"


@pytest.mark.parametrize("report", sorted(REPORT_COLUMNS))
def test_duckdb_reads_every_free_text_cell_as_athena_does(report: str, tmp_path: Path) -> None:
    columns = REPORT_COLUMNS[report]
    rows = adversarial_rows(columns)
    target = tmp_path / report / f"report_date={REPORT_DATE}" / "123456789012-us-east-1.csv"
    target.parent.mkdir(parents=True)
    target.write_text(canonical_text(columns, rows), encoding="utf-8", newline="")
    text_columns = [(position, column) for position, column in enumerate(columns) if free_text(column)]
    select = ", ".join(f'"{column.athena_name}"' for _, column in text_columns)

    with connect(tmp_path, {report: columns}) as duck:
        got = duck.sql(f'SELECT {select}, report_date FROM "{report}"').fetchall()

    # DuckDB reads an empty cell as NULL where OpenCSVSerde reads ''; the typed views make both NULL.
    assert [tuple("" if cell is None else cell for cell in record) for record in got] == [
        (*(as_meant(row[position]) for position, _ in text_columns), REPORT_DATE) for row in rows
    ]
