"""ReportCsvWriter: the canonical CSV Athena reads, and the RFC 4180 spreadsheet export."""

from __future__ import annotations

import csv
import io
import re

import pytest

from ecr_provider.core.columns import IMAGE_COLUMNS, REPOSITORY_COLUMNS, Column, Kind
from ecr_provider.core.csv_format import CANONICAL, CsvFormat, ReportCsvWriter, read_canonical

COLUMNS = (
    Column("repositoryName", Kind.TEXT),
    Column("totalSize(MB)", Kind.DECIMAL),
    Column("lifecyclePolicyText", Kind.JSON, optional=True),
    Column("region", Kind.TEXT),
    Column("monthlyStorageCost(USD)", Kind.DECIMAL),
    Column("totalImages", Kind.INTEGER),
)


def written(rows: list[list[str]], csv_format: CsvFormat = CANONICAL) -> tuple[str, ReportCsvWriter]:
    stream = io.StringIO(newline="")
    writer = ReportCsvWriter(stream, COLUMNS, csv_format)
    for row in rows:
        writer.write(row)
    return stream.getvalue(), writer


@pytest.mark.parametrize("columns", [REPOSITORY_COLUMNS, IMAGE_COLUMNS])
def test_header_is_the_column_headers(columns: tuple[Column, ...]) -> None:
    stream = io.StringIO(newline="")
    writer = ReportCsvWriter(stream, columns)

    assert stream.getvalue() == ",".join(column.header for column in columns) + "\r\n"
    assert writer.rows_written == 0


def test_rows_end_with_crlf() -> None:
    text, writer = written([["a", "1.50", "", "us-east-1", "0.1000", "2"], ["b", "0.00", "", "x", "0", "0"]])

    assert text == (
        "repositoryName,totalSize(MB),lifecyclePolicyText,region,monthlyStorageCost(USD),totalImages\r\n"
        "a,1.50,,us-east-1,0.1000,2\r\n"
        "b,0.00,,x,0,0\r\n"
    )
    assert writer.rows_written == 2


def test_canonical_cells_with_comma_quote_or_backslash_are_quoted_and_escaped_for_opencsv() -> None:
    policy = '{"rules":[{"rulePriority":1,"description":"keep \\"prod\\""}]}'
    text, _ = written([["a,b", "1.00", policy, "line1\nline2", 'say "hi" \\', "3"]])

    data_line = text.split("\r\n", 1)[1]
    assert data_line == (
        '"a,b",1.00,"{\\"rules\\":[{\\"rulePriority\\":1,\\"description\\":\\"keep \\\\\\"prod\\\\\\"\\"}]}",'
        'line1 line2,"say \\"hi\\" \\\\",3\r\n'
    )
    parsed = list(read_canonical(io.StringIO(text, newline="")))
    assert list(parsed[0].values()) == ["a,b", "1.00", policy, "line1 line2", 'say "hi" \\', "3"]


def test_spreadsheet_exports_quote_as_rfc_4180_and_keep_line_breaks() -> None:
    policy = '{"description":"keep \\"prod\\""}'
    text, _ = written(
        [["a,b", "1.00", policy, "line1\nline2", 'say "hi"', "3"]], CsvFormat(".", spreadsheet=True)
    )

    data_line = text.split("\r\n", 1)[1]
    assert (
        data_line == '"a,b",1.00,"{""description"":""keep \\""prod\\""""}","line1\nline2","say ""hi""",3\r\n'
    )
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[1] == ["a,b", "1.00", policy, "line1\nline2", 'say "hi"', "3"]


def test_comma_decimals_use_semicolons_and_touch_only_decimal_columns() -> None:
    text, _ = written(
        [["team.api", "1234.56", '{"a":1.5}', "v1.2", "0.1234", "7"]],
        CsvFormat(","),
    )

    header, data, end = text.split("\r\n")
    assert (
        header
        == "repositoryName;totalSize(MB);lifecyclePolicyText;region;monthlyStorageCost(USD);totalImages"
    )
    assert data == 'team.api;1234,56;"{""a"":1.5}";v1.2;0,1234;7'
    assert end == ""
    parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert parsed[1] == ["team.api", "1234,56", '{"a":1.5}', "v1.2", "0,1234", "7"]


def test_comma_decimals_leave_the_callers_row_alone() -> None:
    row = ["a", "1.50", "", "x", "0.1000", "1"]
    written([row], CsvFormat(","))
    assert row == ["a", "1.50", "", "x", "0.1000", "1"]


def test_formats_and_their_delimiters() -> None:
    assert CANONICAL.decimal_separator == "."
    assert CANONICAL.delimiter == ","
    assert CsvFormat(",").delimiter == ";"


@pytest.mark.parametrize("bad", [";", "", " ", "..", "\t"])
def test_other_decimal_separators_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        CsvFormat(bad)
