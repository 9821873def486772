"""CSV text of the reports: the canonical form Athena reads and the spreadsheet export of ``ecr-report``."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from ecr_provider.core.columns import Column, Kind

DECIMAL_SEPARATORS = (".", ",")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection")."""
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """Canonical is ``,``-delimited with ``.`` decimals; ``,`` decimals move the delimiter to ``;``.

    A spreadsheet export (``spreadsheet=True``, or any ``,`` decimal file, which only a spreadsheet
    reads) neutralises cells a spreadsheet would run as a formula. The canonical form, which Athena
    reads, is never altered.
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
        return ";" if self.decimal_separator == "," else ","

    @property
    def neutralises_formulas(self) -> bool:
        return self.spreadsheet or self.decimal_separator == ","


def neutralise_formula(cell: str, *, numeric: bool) -> str:
    """Prefix ``'`` so the cell is shown as text; a number in a number column (``-1.5``) stays a number."""
    if cell.startswith(FORMULA_TRIGGERS) and not (numeric and _NUMBER.fullmatch(cell)):
        return "'" + cell
    return cell


CANONICAL = CsvFormat()


class ReportCsvWriter:
    """Writes one report, a row at a time, so no report is ever held whole in memory."""

    def __init__(self, stream: TextIO, columns: Sequence[Column], csv_format: CsvFormat = CANONICAL):
        self._columns = columns
        self._format = csv_format
        self._decimal_positions = [i for i, c in enumerate(columns) if c.kind is Kind.DECIMAL]
        self._numeric = [c.kind in (Kind.DECIMAL, Kind.INTEGER) for c in columns]
        self._writer = csv.writer(stream, delimiter=csv_format.delimiter, lineterminator="\r\n")
        self._writer.writerow([column.header for column in columns])
        self.rows_written = 0

    def write(self, row: list[str]) -> None:
        if self._format.decimal_separator != ".":
            row = list(row)
            for position in self._decimal_positions:
                row[position] = row[position].replace(".", self._format.decimal_separator)
        if self._format.neutralises_formulas:
            row = [
                neutralise_formula(cell, numeric=numeric)
                for cell, numeric in zip(row, self._numeric, strict=True)
            ]
        self._writer.writerow(row)
        self.rows_written += 1
