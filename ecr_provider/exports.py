"""The console command's reports as JSON or Parquet, their columns typed as the Athena views type them
(bigint, double, boolean, timestamp, date; text and JSON columns as strings), an empty cell as null."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from ecr_provider.core.columns import Column, Kind

EXPORT_FORMATS = ("csv", "json", "parquet")
PARQUET_BATCH_ROWS = 10_000
"""Rows converted at a time: a report is never held whole in memory."""


def check_export_format(value: str) -> str:
    if value not in EXPORT_FORMATS:
        raise ValueError(f"format {value!r} is not one of {', '.join(EXPORT_FORMATS)}")
    if value == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(
                "format 'parquet' needs pyarrow: install ecr-report with its 'parquet' extra"
            ) from None
    return value


def _json_value(kind: Kind, cell: str) -> Any:
    if cell == "" and kind not in (Kind.TEXT, Kind.JSON):
        return None
    if kind is Kind.INTEGER:
        return int(cell)
    if kind is Kind.DECIMAL:
        return float(cell)
    if kind is Kind.BOOLEAN:
        return cell == "true"
    return cell


def write_json(rows: Iterable[Mapping[str, str]], columns: Sequence[Column], path: Path) -> None:
    """A JSON array of one object per row, written a row at a time."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for number, row in enumerate(rows):
            document = {column.header: _json_value(column.kind, row[column.header]) for column in columns}
            handle.write(("," if number else "") + "\n" + json.dumps(document, ensure_ascii=False))
        handle.write("\n]\n")


def _parquet_value(kind: Kind, cell: str) -> Any:
    value = _json_value(kind, cell)
    if value is None or kind not in (Kind.TIMESTAMP, Kind.DATE):
        return value
    if kind is Kind.DATE:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def write_parquet(rows: Iterable[Mapping[str, str]], columns: Sequence[Column], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        Kind.INTEGER: pa.int64(),
        Kind.DECIMAL: pa.float64(),
        Kind.BOOLEAN: pa.bool_(),
        Kind.TIMESTAMP: pa.timestamp("ms", tz="UTC"),
        Kind.DATE: pa.date32(),
    }
    schema = pa.schema([(column.header, types.get(column.kind, pa.string())) for column in columns])
    with pq.ParquetWriter(path, schema) as writer:
        for batch in _batches(iter(rows)):
            writer.write_table(
                pa.Table.from_pydict(
                    {
                        column.header: [_parquet_value(column.kind, row[column.header]) for row in batch]
                        for column in columns
                    },
                    schema=schema,
                )
            )


def _batches(rows: Iterator[Mapping[str, str]]) -> Iterator[list[Mapping[str, str]]]:
    while batch := list(islice(rows, PARQUET_BATCH_ROWS)):
        yield batch
