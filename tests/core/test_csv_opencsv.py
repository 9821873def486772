"""The canonical CSV read back as Athena reads it: OpenCSVSerde over Hadoop's line reader.

``opencsv_parse_line`` is written here from opencsv 2.3's ``CSVParser.parseLine`` (the parser
OpenCSVSerde uses, with ``strictQuotes`` false and ``ignoreLeadingWhiteSpace`` true), not from the
project's writer:

* an escape character, while in quotes or inside a cell (``inQuotes || inField``), followed by a
  quote or an escape character appends that character and skips it; any other escape is dropped;
* a quote, in the same state and followed by a quote, appends one quote (an "escaped quote");
  otherwise it toggles ``inQuotes``, and when it stands in the middle of a cell (past index 2,
  neither neighbour a separator) it is also kept as text, or discards the whitespace before it;
* every quote toggles ``inField``; a separator outside quotes ends the cell and clears ``inField``;
* any other character is appended and sets ``inField``; a line that ends in quotes is an error.

OpenCSVSerde builds a new parser for every row, so no state crosses lines; Hadoop's line reader
ends a record at LF, CR or CRLF, even inside quotes; ``skip.header.line.count=1`` skips the header.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from ecr_provider.core import units
from ecr_provider.core.columns import FINDING_COLUMNS, IMAGE_COLUMNS, REPOSITORY_COLUMNS, Column, Kind
from ecr_provider.core.csv_format import (
    CANONICAL,
    OPEN_CSV_SERDE_PARAMETERS,
    ReportCsvWriter,
    read_canonical,
)

ADVERSARIAL = (
    "a,b",
    'say "hi"',
    '"',
    '""',
    '"quoted"',
    '","',
    "\\",
    "\\\\",
    "trailing\\",
    '\\"',
    '\\\\"',
    '"\\',
    "C:\\temp\\new\\table",
    "\\t is not a tab",
    "tab\there",
    "  leading and trailing  ",
    '  "spaced quote"',
    "ünïcødé – 日本語 🚀",
    "line\nbreak",
    "cr\rand\r\ncrlf",
    "",
    ",",
    "x,",
    "it's",
    '{"rules":[{"description":"keep \\"prod\\" and C:\\\\"}]}',
)
"""Free text as the registry and Inspector may give it, and every sequence the parser treats apart."""
TYPED_VALUES = {
    Kind.TIMESTAMP: "2026-11-20 00:00:00",
    Kind.DATE: "2026-11-19",
    Kind.BOOLEAN: "true",
    Kind.INTEGER: "-3",
    Kind.DECIMAL: "1.50",
}
REPORT_COLUMNS = {
    "repositories_summary": REPOSITORY_COLUMNS,
    "images_summary": IMAGE_COLUMNS,
    "image_findings": FINDING_COLUMNS,
}


def opencsv_parse_line(line: str, separator: str, quote: str, escape: str) -> list[str]:
    cells: list[str] = []
    cell: list[str] = []
    in_quotes = in_field = False
    i = 0
    while i < len(line):
        c = line[i]
        following = line[i + 1] if i + 1 < len(line) else None
        if c == escape:
            if (in_quotes or in_field) and following in (quote, escape):
                cell.append(following)
                i += 1
        elif c == quote:
            if (in_quotes or in_field) and following == quote:
                cell.append(quote)
                i += 1
            else:
                if i > 2 and line[i - 1] != separator and following not in (None, separator):
                    if cell and all(char.isspace() for char in cell):
                        cell.clear()
                    else:
                        cell.append(c)
                in_quotes = not in_quotes
            in_field = not in_field
        elif c == separator and not in_quotes:
            cells.append("".join(cell))
            cell.clear()
            in_field = False
        else:
            cell.append(c)
            in_field = True
        i += 1
    if in_quotes:
        raise ValueError(f"un-terminated quoted field at end of CSV line {line!r}")
    cells.append("".join(cell))
    return cells


def athena_rows(text: str) -> list[list[str]]:
    """What OpenCSVSerde returns for an object, with the table's own SerDe parameters."""
    records = re.split(r"\r\n|\r|\n", text)
    assert records[-1] == "", "an object ends with a line end"
    parameters = OPEN_CSV_SERDE_PARAMETERS
    return [
        opencsv_parse_line(
            record, parameters["separatorChar"], parameters["quoteChar"], parameters["escapeChar"]
        )
        for record in records[1:-1]
    ]


def as_meant(cell: str) -> str:
    """The report's value of a cell: one record a line, so a line break reads as a space."""
    return re.sub(r"\r\n|\r|\n", " ", cell)


def free_text(column: Column) -> bool:
    return column.kind in (Kind.TEXT, Kind.JSON)


def adversarial_rows(columns: tuple[Column, ...]) -> list[list[str]]:
    """One row per text, in every free-text column; typed columns hold valid values, or are empty."""
    rows = []
    for number, text in enumerate(ADVERSARIAL):
        rows.append(
            [
                text
                if free_text(column)
                else ("" if column.optional and number % 2 else TYPED_VALUES[column.kind])
                for column in columns
            ]
        )
    return rows


def canonical_text(columns: tuple[Column, ...], rows: list[list[str]]) -> str:
    stream = io.StringIO(newline="")
    writer = ReportCsvWriter(stream, columns, CANONICAL)
    for row in rows:
        writer.write(row)
    return stream.getvalue()


def test_the_parser_reads_opencsv_quirks_as_documented() -> None:
    """The rules above on their own, so the proof below rests on a reader that is opencsv's."""
    assert opencsv_parse_line('a,"b,c",d', ",", '"', "\\") == ["a", "b,c", "d"]
    assert opencsv_parse_line('"a""b"', ",", '"', "\\") == ['a"b']
    assert opencsv_parse_line('"a\\"b",c', ",", '"', "\\") == ['a"b', "c"]
    assert opencsv_parse_line('"a\\\\",b', ",", '"', "\\") == ["a\\", "b"]
    assert opencsv_parse_line('"a\\tb"', ",", '"', "\\") == ["atb"]
    assert opencsv_parse_line("x\\\\y", ",", '"', "\\") == ["x\\y"]
    assert opencsv_parse_line("\\\\y", ",", '"', "\\") == ["y"]
    assert opencsv_parse_line('ab"c"de,f', ",", '"', "\\") == ['abc"de', "f"]  # index 2 is no middle


def test_the_earlier_rfc_4180_form_of_a_policy_with_a_quote_breaks_the_row() -> None:
    """The issue's case: compact JSON writes ``\\"``, RFC 4180 doubles its quote, opencsv escapes it."""
    stream = io.StringIO()
    csv.writer(stream, lineterminator="").writerow(['{"a":"\\""}', "next"])

    with pytest.raises(ValueError, match="un-terminated"):
        opencsv_parse_line(stream.getvalue(), ",", '"', "\\")


@pytest.mark.parametrize("report", sorted(REPORT_COLUMNS))
def test_athena_reads_every_free_text_cell_as_written(report: str) -> None:
    columns = REPORT_COLUMNS[report]
    assert any(free_text(column) for column in columns)
    rows = adversarial_rows(columns)

    read = athena_rows(canonical_text(columns, rows))

    assert len(read) == len(rows)
    for written, got in zip(rows, read, strict=True):
        assert len(got) == len(columns), (written, got)
        assert got == [as_meant(cell) for cell in written]


def test_a_lifecycle_policy_with_quotes_comes_back_as_the_same_json() -> None:
    policy = {"rules": [{"rulePriority": 1, "description": 'keep "prod", C:\\ and \\"x\\"'}]}
    columns = REPOSITORY_COLUMNS
    row = adversarial_rows(columns)[0]
    position = [column.header for column in columns].index("lifecyclePolicyText")
    row[position] = units.compact_json(policy)

    (got,) = athena_rows(canonical_text(columns, [row]))

    assert json.loads(got[position]) == policy
    assert got[position + 1 :] == row[position + 1 :]


def test_rows_without_special_characters_keep_their_rfc_4180_bytes() -> None:
    columns = IMAGE_COLUMNS
    row = [TYPED_VALUES.get(column.kind, "plain text; with: (punctuation)") for column in columns]
    text = canonical_text(columns, [row])

    assert text.split("\r\n")[1] == ",".join(row)


@pytest.mark.parametrize("report", sorted(REPORT_COLUMNS))
def test_the_projects_reader_reads_the_canonical_form(report: str) -> None:
    columns = REPORT_COLUMNS[report]
    rows = adversarial_rows(columns)
    stream = io.StringIO(canonical_text(columns, rows), newline="")

    got = list(read_canonical(stream))

    headers = [column.header for column in columns]
    assert got == [dict(zip(headers, map(as_meant, row), strict=True)) for row in rows]


def test_the_projects_reader_reads_an_earlier_rfc_4180_object_without_backslashes() -> None:
    columns = REPOSITORY_COLUMNS
    headers = [column.header for column in columns]
    rows = [
        [text if free_text(column) else TYPED_VALUES[column.kind] for column in columns]
        for text in ADVERSARIAL
        if "\\" not in text
    ]
    stream = io.StringIO(newline="")
    earlier = csv.writer(stream, lineterminator="\r\n")
    earlier.writerows([headers, *rows])

    got = list(read_canonical(io.StringIO(stream.getvalue(), newline="")))

    assert got == [dict(zip(headers, row, strict=True)) for row in rows]
