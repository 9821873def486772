"""The typed views in the Glue catalog: what Athena reads as a view, created and updated idempotently."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ecr_provider.aws.athena_views import decode_view_text, encode_view_text, ensure_view
from ecr_provider.aws.errors import AwsCallError
from ecr_provider.core.columns import IMAGE_COLUMNS, Column, Kind
from ecr_provider.operators.athena_partitions import AthenaReportPartitionsOperator
from ecr_provider.queries.views import TypedView, typed_view
from emulator.server import Emulator, client

REGION = "us-east-1"
DATABASE = "ecr_reports"
PREFIX = "/* Presto View: "


@pytest.fixture(scope="module")
def glue(emulator: Emulator) -> Any:
    glue = client("glue", emulator.endpoint_url, REGION)
    glue.create_database(DatabaseInput={"Name": DATABASE})
    return glue


@pytest.fixture
def fresh(glue: Any) -> Iterator[Any]:
    """Each test starts without the views."""
    yield glue
    for report in ("repositories_summary", "images_summary"):
        name = typed_view(report).name
        if name in {table["Name"] for table in glue.get_tables(DatabaseName=DATABASE)["TableList"]}:
            glue.delete_table(DatabaseName=DATABASE, Name=name)


def stored_definition(glue: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Glue table and its Presto view JSON, decoded here rather than by the code under test."""
    table = glue.get_table(DatabaseName=DATABASE, Name=name)["Table"]
    text = table["ViewOriginalText"]
    assert text.startswith(PREFIX)
    assert text.endswith(" */")
    return table, json.loads(base64.b64decode(text[len(PREFIX) : -len(" */")]))


def test_a_view_is_stored_as_athena_stores_a_view(fresh: Any) -> None:
    view = typed_view("images_summary")

    assert ensure_view(fresh, DATABASE, view) == "created"

    table, definition = stored_definition(fresh, view.name)
    assert table["TableType"] == "VIRTUAL_VIEW"
    assert table["Parameters"] == {"presto_view": "true", "comment": "Presto View"}
    assert table["ViewExpandedText"] == "/* Presto View */"
    assert definition == {
        "originalSql": view.sql,
        "catalog": "awsdatacatalog",
        "schema": DATABASE,
        "columns": [{"name": column.name, "type": column.sql_type} for column in view.columns],
    }
    glue_columns = table["StorageDescriptor"]["Columns"]
    assert [column["Name"] for column in glue_columns] == [column["name"] for column in definition["columns"]]
    presto = {column["name"]: column["type"] for column in definition["columns"]}
    hive = {column["Name"]: column["Type"] for column in glue_columns}
    assert (presto["image_tags"], hive["image_tags"]) == ("array(varchar)", "array<string>")
    assert (presto["image_pushed_at"], hive["image_pushed_at"]) == ("timestamp", "timestamp")
    assert (presto["findings_critical"], hive["findings_critical"]) == ("bigint", "bigint")
    assert (presto["image_size_mb"], hive["image_size_mb"]) == ("double", "double")
    assert (presto["report_date"], hive["report_date"]) == ("date", "date")
    assert (presto["image_digest"], hive["image_digest"]) == ("varchar", "string")


def test_ensuring_a_view_twice_changes_nothing(fresh: Any) -> None:
    view = typed_view("repositories_summary")
    ensure_view(fresh, DATABASE, view)
    before = fresh.get_table(DatabaseName=DATABASE, Name=view.name)["Table"]

    assert ensure_view(fresh, DATABASE, view) == "unchanged"

    after = fresh.get_table(DatabaseName=DATABASE, Name=view.name)["Table"]
    assert after["VersionId"] == before["VersionId"]
    assert (
        len([t for t in fresh.get_tables(DatabaseName=DATABASE)["TableList"] if t["Name"] == view.name]) == 1
    )


def test_a_view_whose_sql_changed_is_updated(fresh: Any) -> None:
    old = typed_view("images_summary")
    ensure_view(fresh, DATABASE, old)
    appended = typed_view(
        "images_summary", (*IMAGE_COLUMNS, Column("layerCount", Kind.INTEGER, optional=True))
    )

    assert ensure_view(fresh, DATABASE, appended) == "updated"

    _, definition = stored_definition(fresh, appended.name)
    assert definition["originalSql"] == appended.sql
    assert 'CAST(NULLIF("layer_count", \'\') AS bigint) AS "layer_count"' in definition["originalSql"]
    assert {"name": "layer_count", "type": "bigint"} in definition["columns"]
    assert ensure_view(fresh, DATABASE, appended) == "unchanged"


def test_a_table_that_is_no_presto_view_becomes_the_view(fresh: Any) -> None:
    view = typed_view("repositories_summary")
    fresh.create_table(
        DatabaseName=DATABASE,
        TableInput={"Name": view.name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": {"Columns": []}},
    )

    assert ensure_view(fresh, DATABASE, view) == "updated"

    table, definition = stored_definition(fresh, view.name)
    assert table["TableType"] == "VIRTUAL_VIEW"
    assert definition["originalSql"] == view.sql


def test_the_partitions_operator_creates_the_views(
    fresh: Any, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {"conn_type": "aws", "extra": {"endpoint_url": emulator.endpoint_url, "region_name": REGION}}
    monkeypatch.setenv("AIRFLOW_CONN_EMULATOR", json.dumps(connection))
    client("s3", emulator.endpoint_url, REGION).create_bucket(Bucket="ecr-reports-demo")  # no manifest in it
    operator = AthenaReportPartitionsOperator(
        task_id="register_partitions",
        aws_conn_id="emulator",
        database=DATABASE,
        report_bucket="ecr-reports-demo",
        report_date="2026-11-20",
    )

    first = operator.execute({})
    again = operator.execute({})

    assert {report: outcome["view"] for report, outcome in first["tables"].items()} == {
        "repositories_summary": "created",
        "images_summary": "created",
        "image_findings": "created",
        "registries_summary": "created",
    }
    assert {outcome["view"] for outcome in again["tables"].values()} == {"unchanged"}
    for report in first["tables"]:
        table, _ = stored_definition(fresh, typed_view(report).name)
        assert table["TableType"] == "VIRTUAL_VIEW"


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    glue = boto3.client("glue", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(glue) as stubber:
        yield glue, stubber
        stubber.assert_no_pending_responses()


def test_a_denied_read_names_the_action_and_the_view(stubbed: tuple[Any, Stubber]) -> None:
    glue, stubber = stubbed
    stubber.add_client_error("get_table", "AccessDeniedException", "not allowed", 400)

    with pytest.raises(
        AwsCallError,
        match=r"glue:GetTable on ecr_reports\.images_summary_typed failed with AccessDeniedException",
    ):
        ensure_view(glue, DATABASE, typed_view("images_summary"))


def test_a_denied_create_names_the_action(stubbed: tuple[Any, Stubber]) -> None:
    glue, stubber = stubbed
    stubber.add_client_error("get_table", "EntityNotFoundException", "missing", 400)
    stubber.add_client_error(
        "create_table",
        "AccessDeniedException",
        "not allowed",
        400,
        expected_params={"DatabaseName": DATABASE, "TableInput": ANY},
    )

    with pytest.raises(AwsCallError, match=r"glue:CreateTable on ecr_reports\.repositories_summary_typed"):
        ensure_view(glue, DATABASE, typed_view("repositories_summary"))


def test_view_text_round_trips_and_rejects_other_text() -> None:
    definition = {"originalSql": 'SELECT 1 AS "a"', "columns": [{"name": "a", "type": "integer"}]}
    assert decode_view_text(encode_view_text(definition)) == definition

    for text in ("SELECT 1", "/* Presto View: !!! */", f"{PREFIX}{base64.b64encode(b'[1]').decode()} */"):
        with pytest.raises(ValueError, match="Presto view"):
            decode_view_text(text)


def test_view_sql_is_the_columns_in_order() -> None:
    view = TypedView("v", "t", (typed_view("images_summary").columns[0],))

    assert view.sql == 'SELECT\n    NULLIF("repository_name", \'\') AS "repository_name"\nFROM "t"'
