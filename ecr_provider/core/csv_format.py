"""CSV text of the reports: the canonical form Athena reads and the spreadsheet export of ``ecr-report``."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from ecr_provider.core.columns import Column, Kind

DECIMAL_SEPARATORS = (".", ",")


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """Canonical is ``,``-delimited with ``.`` decimals; ``,`` decimals move the delimiter to ``;``."""

    decimal_separator: str = "."

    def __post_init__(self) -> None:
        if self.decimal_separator not in DECIMAL_SEPARATORS:
            raise ValueError(f"decimal separator {self.decimal_separator!r} is not allowed; use '.' or ','")

    @property
    def delimiter(self) -> str:
        return ";" if self.decimal_separator == "," else ","


CANONICAL = CsvFormat()


class ReportCsvWriter:
    """Writes one report, a row at a time, so no report is ever held whole in memory."""

    def __init__(self, stream: TextIO, columns: Sequence[Column], csv_format: CsvFormat = CANONICAL):
        self._columns = columns
        self._format = csv_format
        self._decimal_positions = [i for i, c in enumerate(columns) if c.kind is Kind.DECIMAL]
        self._writer = csv.writer(stream, delimiter=csv_format.delimiter, lineterminator="\r\n")
        self._writer.writerow([column.header for column in columns])
        self.rows_written = 0

    def write(self, row: list[str]) -> None:
        if self._format.decimal_separator != ".":
            row = list(row)
            for position in self._decimal_positions:
                row[position] = row[position].replace(".", self._format.decimal_separator)
        self._writer.writerow(row)
        self.rows_written += 1
