"""The shipped queries on DuckDB, over report CSVs laid out like the S3 data lake.

Athena cannot run outside AWS, so the same Athena SQL is transpiled with sqlglot and run on
DuckDB: the tables read every field as a string, as OpenCSVSerde does, and then carry the Glue
table's column types; the typed views and the queries are the shipped SQL, transpiled. Used by
the tests (the proof on a real SQL engine) and by ``make demo``. The files are read with the
escape character of the Glue tables, so a cell DuckDB reads is the cell Athena reads. Needs the
``dev`` extra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from ecr_provider.core.columns import REPORTS, Column
from ecr_provider.core.csv_format import ESCAPE, QUOTE, SEPARATOR
from ecr_provider.queries import named_query
from ecr_provider.queries.views import PARTITION_COLUMN, PARTITIONS_SUFFIX, typed_view

_DUCKDB_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}


def athena_to_duckdb(sql: str) -> str:
    (statement,) = sqlglot.transpile(sql, read="athena", write="duckdb")
    return statement


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_sql(connection: duckdb.DuckDBPyConnection, files: str, columns: Sequence[Column]) -> str:
    """A column absent from every file reads as NULL, as Athena reads a column appended after them."""
    source = (
        f"read_csv({_string(files)}, header = true, all_varchar = true, union_by_name = true, "
        f"delim = {_string(SEPARATOR)}, quote = {_string(QUOTE)}, escape = {_string(ESCAPE)}, "
        "hive_partitioning = true, hive_types_autocast = false)"
    )
    present = {row[0] for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    select = [
        f"CAST({_identifier(column.header) if column.header in present else 'NULL'} "
        f"AS {_DUCKDB_TYPES[column.athena_type]}) AS {_identifier(column.athena_name)}"
        for column in columns
    ]
    return f"SELECT {', '.join(select)}, {PARTITION_COLUMN} FROM {source}"


def _empty_table_sql(columns: Sequence[Column]) -> str:
    select = [
        f"CAST(NULL AS {_DUCKDB_TYPES[column.athena_type]}) AS {_identifier(column.athena_name)}"
        for column in columns
    ]
    return f"SELECT {', '.join(select)}, CAST(NULL AS VARCHAR) AS {PARTITION_COLUMN} WHERE false"


def _partitions_sql(report_dir: Path) -> str:
    """Athena's ``"{report}$partitions"``: one row per date directory, read from no file."""
    dates = sorted(path.name.split("=", 1)[1] for path in report_dir.glob(f"{PARTITION_COLUMN}=*"))
    if not dates:
        return f"SELECT CAST(NULL AS VARCHAR) AS {PARTITION_COLUMN} WHERE false"
    values = ", ".join(f"({_string(date)})" for date in dates)
    return f"SELECT * FROM (VALUES {values}) AS partitions({PARTITION_COLUMN})"


def connect(
    reports_dir: Path, reports: Mapping[str, Sequence[Column]] = REPORTS
) -> duckdb.DuckDBPyConnection:
    """DuckDB with a table per report over ``{reports_dir}/{report}/report_date=*/*.csv``, its
    partitions table and its view.

    A report without files (``image_findings`` is opt-in) is an empty table, as in Athena.
    """
    pattern = f"{PARTITION_COLUMN}=*/*.csv"
    present = {report for report in reports if any((reports_dir / report).glob(pattern))}
    if not present:
        raise ValueError(f"no report files {reports_dir / '<report>' / pattern}")
    connection = duckdb.connect()
    for report, columns in reports.items():
        table = (
            _table_sql(connection, str(reports_dir / report / pattern), columns)
            if report in present
            else _empty_table_sql(columns)
        )
        connection.execute(f"CREATE VIEW {_identifier(report)} AS {table}")
        partitions = _partitions_sql(reports_dir / report)
        connection.execute(f"CREATE VIEW {_identifier(report + PARTITIONS_SUFFIX)} AS {partitions}")
        view = typed_view(report, columns)
        connection.execute(f"CREATE VIEW {_identifier(view.name)} AS {athena_to_duckdb(view.sql)}")
    return connection


def run_on_duckdb(reports_dir: Path, query_name: str, limit: int) -> list[tuple[Any, ...]]:
    """The first ``limit`` rows of a shipped query over the reports in ``reports_dir``."""
    return preview(reports_dir, query_name, limit)[1]


def preview(reports_dir: Path, query_name: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and the first ``limit`` rows of a shipped query."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")
    sql = athena_to_duckdb(named_query(query_name).sql)
    with connect(reports_dir) as connection:
        cursor = connection.execute(sql)
        return [column[0] for column in cursor.description], cursor.fetchmany(limit)
