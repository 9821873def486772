"""CSV text of the reports: the canonical form Athena reads and the spreadsheet export of ``ecr-report``.

Athena reads the tables with OpenCSVSerde, whose parser is opencsv 2.3's ``CSVParser``, not RFC 4180:
a backslash escapes the next character (``\\"`` is a quote that does not close the cell, a backslash
before anything but a quote or a backslash is dropped) and every line is a record, quoted or not. The
canonical form is written for that parser; a spreadsheet export is RFC 4180.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

from ecr_provider.core.columns import Column, Kind

SEPARATOR = ","
QUOTE = '"'
ESCAPE = "\\"
LINE_END = "\r\n"
OPEN_CSV_SERDE_PARAMETERS = {"separatorChar": SEPARATOR, "quoteChar": QUOTE, "escapeChar": ESCAPE}
"""The Glue tables' SerDe parameters, every one set: the canonical form is written for exactly these."""
DECIMAL_SEPARATORS = (".", ",")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection")."""
_GUARDED_STARTS = (*FORMULA_TRIGGERS, "'")
"""The starts of the cells :func:`neutralise_formula` may change."""
_CELL_START = "\0"
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""What ends a record for Hadoop's line reader, inside quotes or not."""
_SPECIAL = re.compile("[" + re.escape(SEPARATOR + QUOTE + ESCAPE) + "]")
_CHANGED = re.compile("[" + re.escape(SEPARATOR + QUOTE + ESCAPE) + "\r\n]")
"""A cell with none of these is written as it is: one search instead of a substitution and a search."""


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """Canonical is ``,``-delimited with ``.`` decimals; ``,`` decimals move the delimiter to ``;``.

    A spreadsheet export (``spreadsheet=True``, or any ``,`` decimal file, which only a spreadsheet
    reads) is RFC 4180 and neutralises cells a spreadsheet would run as a formula. The canonical
    form, which Athena reads, never alters a cell but for its line breaks (see :func:`canonical_cell`).
    """

    decimal_separator: str = "."
    spreadsheet: bool = False

    def __post_init__(self) -> None:
        if self.decimal_separator not in DECIMAL_SEPARATORS:
            raise ValueError(f"decimal separator {self.decimal_separator!r} is not allowed; use '.' or ','")
        if not isinstance(self.spreadsheet, bool):
            raise ValueError(f"spreadsheet must be True or False, got {self.spreadsheet!r}")

    @property
    def delimiter(self) -> str:
        return ";" if self.decimal_separator == "," else SEPARATOR

    @property
    def spreadsheet_export(self) -> bool:
        return self.spreadsheet or self.decimal_separator == ","

    @property
    def neutralises_formulas(self) -> bool:
        return self.spreadsheet_export


def neutralise_formula(cell: str, *, numeric: bool) -> str:
    """Prefix ``'`` so the cell is shown as text; a number in a number column (``-1.5``) stays a number.

    A cell already starting with ``'`` before a trigger gets one more, so :func:`restore_formula` gives
    back exactly the cell it was given."""
    if cell.lstrip("'").startswith(FORMULA_TRIGGERS) and not (numeric and _NUMBER.fullmatch(cell)):
        return "'" + cell
    return cell


def restore_formula(cell: str) -> str:
    """The cell :func:`neutralise_formula` was given, for a reader of the export that is not a spreadsheet."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_TRIGGERS):
        return cell[1:]
    return cell


def _some_cell_starts_with(cells: Sequence[str], starts: Sequence[str]) -> bool:
    """Whether a cell may start with one of ``starts``, in one pass over the joined row (a row with
    none, nearly every row, is then left alone without a call per cell); a NUL in a cell can only
    make it answer yes."""
    joined = _CELL_START + _CELL_START.join(cells)
    return any(_CELL_START + start in joined for start in starts)


def neutralise_formulas(cells: list[str], numeric: Sequence[bool]) -> list[str]:
    """:func:`neutralise_formula` of each cell (``numeric``: per cell, whether its column is a number)."""
    if not _some_cell_starts_with(cells, _GUARDED_STARTS):
        return cells
    return [neutralise_formula(cell, numeric=number) for cell, number in zip(cells, numeric, strict=True)]


def restore_formulas(cells: list[str]) -> list[str]:
    """:func:`restore_formula` of each cell."""
    if not _some_cell_starts_with(cells, ("'",)):
        return cells
    return [restore_formula(cell) for cell in cells]


def canonical_cell(cell: str) -> str:
    """The cell as opencsv 2.3 reads it back whole: a line break becomes a space (no quoting keeps a
    record on one line); a cell holding ``,``, ``"`` or ``\\`` is quoted, with ``"`` and ``\\``
    escaped by ``\\`` (bare, a ``\\`` at a cell's start would be dropped). Other cells are bare, so
    a row without these characters or line breaks keeps the bytes it had as RFC 4180."""
    if not _CHANGED.search(cell):
        return cell
    cell = _LINE_BREAK.sub(" ", cell)
    if not _SPECIAL.search(cell):
        return cell
    return QUOTE + cell.replace(ESCAPE, ESCAPE + ESCAPE).replace(QUOTE, ESCAPE + QUOTE) + QUOTE


def canonical_line(cells: Iterable[str]) -> str:
    return SEPARATOR.join(canonical_cell(cell) for cell in cells) + LINE_END


class CanonicalDialect(csv.Dialect):
    """Reads the canonical form, and the RFC 4180 objects of earlier releases (doubled quotes, line
    breaks inside quotes) unless a cell of theirs holds a backslash: that is read as an escape."""

    delimiter = SEPARATOR
    quotechar = QUOTE
    escapechar = ESCAPE
    doublequote = True
    skipinitialspace = False
    lineterminator = LINE_END
    quoting = csv.QUOTE_MINIMAL
    strict = False


def read_canonical(stream: TextIO) -> Iterator[dict[str, str]]:
    """Rows of a canonical report keyed by header. Open ``stream`` with ``newline=""`` (for an S3 body:
    ``io.TextIOWrapper(body, encoding="utf-8", newline="")``), so only CR and LF end a line."""
    return csv.DictReader(stream, dialect=CanonicalDialect)


CANONICAL = CsvFormat()
SPREADSHEET = CsvFormat(spreadsheet=True)
"""What a person opens: RFC 4180 with ``.`` decimals, formula cells neutralised."""


class ReportCsvWriter:
    """Writes one report, a row at a time, so no report is ever held whole in memory."""

    def __init__(self, stream: TextIO, columns: Sequence[Column], csv_format: CsvFormat = CANONICAL):
        self._stream = stream
        self._format = csv_format
        self._decimal_positions = [i for i, c in enumerate(columns) if c.kind is Kind.DECIMAL]
        self._numeric = [c.kind in (Kind.DECIMAL, Kind.INTEGER) for c in columns]
        self._rfc4180 = (
            csv.writer(stream, delimiter=csv_format.delimiter, lineterminator=LINE_END)
            if csv_format.spreadsheet_export
            else None
        )
        self._write_line([column.header for column in columns])
        self.rows_written = 0

    def write(self, row: list[str]) -> None:
        if self._format.decimal_separator != ".":
            row = list(row)
            for position in self._decimal_positions:
                row[position] = row[position].replace(".", self._format.decimal_separator)
        if self._format.neutralises_formulas:
            row = neutralise_formulas(row, self._numeric)
        self._write_line(row)
        self.rows_written += 1

    def _write_line(self, cells: list[str]) -> None:
        if self._rfc4180 is None:
            self._stream.write(canonical_line(cells))
        else:
            self._rfc4180.writerow(cells)
