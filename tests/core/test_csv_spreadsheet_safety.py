"""Spreadsheet exports neutralise cells a spreadsheet would run as formulas; canonical CSV is untouched."""

from __future__ import annotations

import csv
import io
import re

import pytest

from ecr_provider.core.columns import Column, Kind
from ecr_provider.core.csv_format import (
    CANONICAL,
    FORMULA_TRIGGERS,
    CsvFormat,
    ReportCsvWriter,
    neutralise_formula,
    read_canonical,
    restore_formula,
)

COLUMNS = (
    Column("repositoryName", Kind.TEXT),
    Column("costChange(USD)", Kind.DECIMAL, optional=True),
    Column("sizeChangeBytes", Kind.INTEGER, optional=True),
    Column("imageTags", Kind.JSON),
)
HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def rows_of(rows: list[list[str]], csv_format: CsvFormat) -> list[list[str]]:
    stream = io.StringIO(newline="")
    writer = ReportCsvWriter(stream, COLUMNS, csv_format)
    for row in rows:
        writer.write(row)
    return list(csv.reader(io.StringIO(stream.getvalue(), newline=""), delimiter=csv_format.delimiter))[1:]


@pytest.mark.parametrize("cell", HOSTILE)
@pytest.mark.parametrize(
    "csv_format", [CsvFormat(","), CsvFormat(".", spreadsheet=True)], ids=["comma", "flag"]
)
def test_formula_cells_get_a_leading_quote_in_every_column(cell: str, csv_format: CsvFormat) -> None:
    assert rows_of([[cell, cell, cell, cell]], csv_format) == [["'" + cell] * 4]


@pytest.mark.parametrize(
    ("cost", "size", "expected_cost"),
    [("-1.5000", "-1024", "-1,5000"), ("-0.0001", "-1", "-0,0001"), ("2.5000", "0", "2,5000")],
)
def test_negative_numbers_in_number_columns_stay_numbers(cost: str, size: str, expected_cost: str) -> None:
    assert rows_of([["team/api", cost, size, '["-rc1"]']], CsvFormat(",")) == [
        ["team/api", expected_cost, size, '["-rc1"]']
    ]


def test_a_number_looking_cell_in_a_text_column_is_neutralised() -> None:
    assert rows_of([["-1.5", "", "", "[]"]], CsvFormat(",")) == [["'-1.5", "", "", "[]"]]


def test_a_non_number_in_a_number_column_is_neutralised() -> None:
    assert neutralise_formula("-1+2", numeric=True) == "'-1+2"
    assert neutralise_formula("-", numeric=True) == "'-"
    assert neutralise_formula("-12", numeric=True) == "-12"
    assert neutralise_formula("team=a", numeric=False) == "team=a"
    assert neutralise_formula("", numeric=False) == ""


@pytest.mark.parametrize("cell", HOSTILE)
def test_the_canonical_form_is_not_neutralised(cell: str) -> None:
    stream = io.StringIO(newline="")
    ReportCsvWriter(stream, COLUMNS, CANONICAL).write([cell, "-1.5", "-3", "[]"])
    (row,) = read_canonical(io.StringIO(stream.getvalue(), newline=""))
    # A record is one line for Athena, so only a line break changes (to a space).
    assert list(row.values()) == [cell.replace("\r", " "), "-1.5", "-3", "[]"]
    assert not CANONICAL.neutralises_formulas


def test_spreadsheet_flag_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match=re.escape("'yes'")):
        CsvFormat(".", spreadsheet="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "cell",
    [*HOSTILE, "'=already quoted", "''@twice", "'plain", "plain", "", "-1.5", "team=a"],
)
@pytest.mark.parametrize("numeric", [False, True])
def test_restore_gives_back_exactly_the_cell_that_was_neutralised(cell: str, numeric: bool) -> None:
    neutralised = neutralise_formula(cell, numeric=numeric)
    assert restore_formula(neutralised) == cell
    assert not neutralised.startswith(FORMULA_TRIGGERS) or (numeric and neutralised == "-1.5")
