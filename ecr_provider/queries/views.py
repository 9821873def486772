"""Typed views over the report tables, generated from the report columns so they never drift from them.

The tables keep every column that may be empty as a string (OpenCSVSerde cannot read an empty
field as a number). The views turn those strings into timestamps, numbers, booleans and arrays,
and every empty string into NULL, so a query can filter and sort without string tricks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ecr_provider.core.columns import REPORTS, SQL_TYPES, Column, Kind

VIEW_SUFFIX = "_typed"
PARTITION_COLUMN = "report_date"
PARTITION_VALUE_COLUMN = "report_partition"
"""The partition's own string: a query that compares it, not the date cast from it, lets Athena
read only the dates it asks for, also when the date comes from a subquery (dynamic filtering)."""
PARTITIONS_SUFFIX = "$partitions"
"""Athena's metadata table of a table's partitions: the dates without reading an object."""

_JSON_SHAPES: dict[str, str] = {
    "imageTags": "array(varchar)",
    "findingSeverityCounts": "map(varchar,bigint)",
}
"""JSON columns with a fixed shape; any other JSON column (the lifecycle policy) stays text."""

_HIVE_TYPES: dict[str, str] = {
    "varchar": "string",
    "timestamp": "timestamp",
    "boolean": "boolean",
    "bigint": "bigint",
    "double": "double",
    "date": "date",
    "array(varchar)": "array<string>",
    "map(varchar,bigint)": "map<string,bigint>",
}


@dataclass(frozen=True, slots=True)
class ViewColumn:
    name: str
    sql_type: str
    """Athena (Trino) type, as the Presto view definition stores it."""
    expression: str
    comment: str

    @property
    def hive_type(self) -> str:
        """The same type as Glue's table columns spell it."""
        return _HIVE_TYPES[self.sql_type]


@dataclass(frozen=True, slots=True)
class TypedView:
    name: str
    table: str
    columns: tuple[ViewColumn, ...]

    @property
    def sql(self) -> str:
        """Athena (Trino) SELECT; the table name is unqualified so it resolves in the view's database."""
        select = ",\n".join(f"    {column.expression} AS {_quoted(column.name)}" for column in self.columns)
        return f"SELECT\n{select}\nFROM {_quoted(self.table)}"


def _quoted(name: str) -> str:
    return f'"{name}"'


def view_column(column: Column) -> ViewColumn:
    """A column the table already types passes through; a string column is cast after NULLIF."""
    source = _quoted(column.athena_name)
    if column.kind is Kind.JSON:
        sql_type = _JSON_SHAPES.get(column.header, "varchar")
    else:
        sql_type = SQL_TYPES.get(column.kind, "varchar")
    if column.athena_type != "string":
        expression = source
    elif sql_type == "varchar":
        expression = f"NULLIF({source}, '')"
    elif column.kind is Kind.JSON:
        expression = f"CAST(json_parse(NULLIF({source}, '')) AS {sql_type})"
    else:
        expression = f"CAST(NULLIF({source}, '') AS {sql_type})"
    return ViewColumn(column.athena_name, sql_type, expression, column.header)


def typed_view(report: str, columns: Sequence[Column] | None = None) -> TypedView:
    """The view of ``report``; ``columns`` defaults to the report's own (tests may pass more)."""
    if report not in REPORTS:
        raise ValueError(f"unknown report {report!r}; known: {sorted(REPORTS)}")
    partition = ViewColumn(
        PARTITION_COLUMN, "date", f"CAST({_quoted(PARTITION_COLUMN)} AS date)", "report date (partition)"
    )
    partition_value = ViewColumn(
        PARTITION_VALUE_COLUMN, "varchar", _quoted(PARTITION_COLUMN), "report date, the partition's string"
    )
    typed = tuple(view_column(column) for column in (REPORTS[report] if columns is None else columns))
    return TypedView(f"{report}{VIEW_SUFFIX}", report, (*typed, partition, partition_value))
