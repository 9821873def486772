"""The shipped SQL is Athena SQL: every query and view parses in the Athena and Trino dialects."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from ecr_provider.core.columns import REPORTS, Column, Kind
from ecr_provider.operators.athena_named_queries import NAME_PREFIX
from ecr_provider.queries import _load, named_queries, named_query
from ecr_provider.queries.views import PARTITIONS_SUFFIX, TypedView, typed_view, view_column

QUERY_NAMES = [query.name for query in named_queries()]
VIEWS: list[TypedView] = [typed_view(report) for report in REPORTS]
PARTITION_LISTS = {report + PARTITIONS_SUFFIX for report in REPORTS}
DIALECTS = ("athena", "trino")
REQUIRED = {
    "costliest_repositories",
    "repositories_not_pulled",
    "repositories_without_lifecycle_policy",
    "untagged_images",
    "critical_high_findings",
    "storage_trend",
    "potential_savings",
}


def parse(sql: str, dialect: str) -> exp.Expr:
    statements = sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    assert len(statements) == 1
    statement = statements[0]
    assert statement is not None
    return statement


def test_the_issue_queries_are_shipped() -> None:
    assert set(QUERY_NAMES) >= REQUIRED


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_is_one_select_in_the_dialect(name: str, dialect: str) -> None:
    statement = parse(named_query(name).sql, dialect)

    assert isinstance(statement, exp.Select)
    assert not list(statement.find_all(exp.Placeholder)), "named queries cannot take bind parameters"
    tables = {table.name for table in statement.find_all(exp.Table)} - {
        cte.alias for cte in statement.find_all(exp.CTE)
    }
    assert tables <= {view.name for view in VIEWS} | PARTITION_LISTS, "typed views and partition lists only"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_a_query_reads_its_dates_from_the_partition_list_and_filters_on_the_partition_string(
    name: str,
) -> None:
    """So the cost of a query of one date does not grow with every day of history."""
    statement = parse(named_query(name).sql, "athena")
    date_aggregates = [found for found in statement.find_all(exp.Max) if found.this.name == "report_date"]
    for aggregate in date_aggregates:
        select = aggregate.find_ancestor(exp.Select)
        assert select is not None
        assert {table.name for table in select.find_all(exp.Table)} <= PARTITION_LISTS, name
    date_ctes = {"report", "shown"}
    joins = [join for join in statement.find_all(exp.Join) if join.this.name in date_ctes]
    assert joins, f"{name} picks no dates"
    for join in joins:
        assert "report_partition" in {column.name for column in join.args["on"].find_all(exp.Column)}, name


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_fits_athena_named_query_limits(name: str) -> None:
    query = named_query(name)

    assert 1 <= len(query.description) <= 1024
    assert 1 <= len(query.sql) <= 262144
    assert len(NAME_PREFIX + name) <= 128


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_a_parameterised_query_keeps_its_literals_in_one_cte(name: str) -> None:
    statement = parse(named_query(name).sql, "athena")
    ctes = [cte.alias for cte in statement.find_all(exp.CTE)]

    assert ctes[0] == "parameters"


def test_a_query_without_a_description_is_refused() -> None:
    with pytest.raises(ValueError, match="'bad' must start with a '--' comment"):
        _load("bad", "SELECT 1\n")
    with pytest.raises(ValueError, match="'bad' must start"):
        _load("bad", "--   \nSELECT 1\n")


def test_an_unknown_query_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown query 'nope'; shipped: \['costliest_repositories'"):
        named_query("nope")


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("report", sorted(REPORTS))
def test_view_sql_parses_and_names_every_column(report: str, dialect: str) -> None:
    view = typed_view(report)
    statement = parse(view.sql, dialect)

    assert isinstance(statement, exp.Select)
    assert statement.named_selects == [column.name for column in view.columns]
    assert [column.name for column in view.columns] == [
        *(column.athena_name for column in REPORTS[report]),
        "report_date",
        "report_partition",
    ]
    assert {table.name for table in statement.find_all(exp.Table)} == {report}


def test_view_types_follow_the_column_kinds() -> None:
    cases = {
        Column("a", Kind.TIMESTAMP, optional=True): ("timestamp", "CAST(NULLIF(\"a\", '') AS timestamp)"),
        Column("a", Kind.INTEGER): ("bigint", '"a"'),
        Column("a", Kind.INTEGER, optional=True): ("bigint", "CAST(NULLIF(\"a\", '') AS bigint)"),
        Column("a", Kind.DECIMAL): ("double", '"a"'),
        Column("a", Kind.DECIMAL, optional=True): ("double", "CAST(NULLIF(\"a\", '') AS double)"),
        Column("a", Kind.BOOLEAN): ("boolean", '"a"'),
        Column("a", Kind.TEXT): ("varchar", "NULLIF(\"a\", '')"),
        Column("a", Kind.JSON, optional=True): ("varchar", "NULLIF(\"a\", '')"),
        Column("imageTags", Kind.JSON): (
            "array(varchar)",
            "CAST(json_parse(NULLIF(\"image_tags\", '')) AS array(varchar))",
        ),
    }
    for column, (sql_type, expression) in cases.items():
        typed = view_column(column)
        assert (typed.sql_type, typed.expression) == (sql_type, expression), column


def test_every_view_type_has_a_glue_spelling() -> None:
    assert {column.hive_type for view in VIEWS for column in view.columns} >= {
        "string",
        "bigint",
        "double",
        "boolean",
        "timestamp",
        "date",
        "array<string>",
        "map<string,bigint>",
    }


def test_an_unknown_report_has_no_view() -> None:
    with pytest.raises(ValueError, match="unknown report 'nope'"):
        typed_view("nope")
