"""ReportCatalog against botocore's Stubber, which checks every request and response with Glue's model."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.glue_catalog import OPEN_CSV_SERDE, ReportCatalog, table_input
from ecr_provider.core.columns import REPORTS

DATABASE = "ecr_reports"
BUCKET = "bucket"
PREFIX = "prefix"
REPORT = "repositories_summary"


@pytest.fixture
def glue() -> Iterator[tuple[ReportCatalog, Stubber]]:
    client = boto3.client("glue", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield ReportCatalog(client, DATABASE, BUCKET, PREFIX), stubber
        stubber.assert_no_pending_responses()


def not_found(stubber: Stubber, method: str, expected: dict[str, Any]) -> None:
    stubber.add_client_error(
        method,
        service_error_code="EntityNotFoundException",
        service_message="Entity Not Found",
        http_status_code=400,
        expected_params=expected,
    )


def stored_table(table: dict[str, Any]) -> dict[str, Any]:
    """What GetTable gives back for a table created from ``table``: the input plus Glue's own fields."""
    stored = copy.deepcopy(table)
    stored.update(
        DatabaseName=DATABASE,
        CreateTime=datetime(2025, 1, 1, tzinfo=UTC),
        UpdateTime=datetime(2025, 1, 1, tzinfo=UTC),
        IsRegisteredWithLakeFormation=False,
        CatalogId="123456789012",
        VersionId="1",
    )
    stored["StorageDescriptor"].update(
        Compressed=False,
        NumberOfBuckets=-1,
        BucketColumns=[],
        SortColumns=[],
        StoredAsSubDirectories=False,
        Parameters={},
    )
    return stored


def test_ensure_database_creates_a_missing_database(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    not_found(stubber, "get_database", {"Name": DATABASE})
    stubber.add_response(
        "create_database",
        {},
        {"DatabaseInput": {"Name": DATABASE, "Description": ANY}},
    )

    catalog.ensure_database()


def test_ensure_database_leaves_an_existing_database_alone(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    stubber.add_response("get_database", {"Database": {"Name": DATABASE}}, {"Name": DATABASE})

    catalog.ensure_database()  # a create_database call would hit an unstubbed response and raise


def test_ensure_database_names_the_denied_action(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    stubber.add_client_error(
        "get_database",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
        http_status_code=400,
        expected_params={"Name": DATABASE},
    )

    with pytest.raises(
        AwsCallError, match=r"glue:GetDatabase on ecr_reports failed with AccessDeniedException"
    ):
        catalog.ensure_database()


def test_ensure_table_creates_a_missing_table(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    not_found(stubber, "get_table", {"DatabaseName": DATABASE, "Name": REPORT})
    stubber.add_response("create_table", {}, {"DatabaseName": DATABASE, "TableInput": ANY})
    sent: list[dict[str, Any]] = []
    catalog.glue.meta.events.register(
        "before-parameter-build.glue.CreateTable", lambda params, **_: sent.append(params)
    )

    assert catalog.ensure_table(REPORT) == "created"

    assert len(sent) == 1
    table = sent[0]["TableInput"]
    assert table["Name"] == REPORT
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["skip.header.line.count"] == "1"
    assert table["PartitionKeys"] == [{"Name": "report_date", "Type": "string"}]
    descriptor = table["StorageDescriptor"]
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == OPEN_CSV_SERDE
    assert descriptor["Location"] == "s3://bucket/prefix/repositories_summary/"
    assert "ProjectionEnabled" not in table["Parameters"]
    assert "projection.enabled" not in table["Parameters"]
    names = [column["Name"] for column in descriptor["Columns"]]
    assert names == [column.athena_name for column in REPORTS[REPORT]]
    assert names[:10] == [
        "repository_name",
        "created_at",
        "scan_on_push",
        "total_images",
        "total_size_mb",
        "monthly_storage_cost_usd",
        "has_been_pulled",
        "last_recorded_pull_time",
        "days_since_last_pull",
        "lifecycle_policy_text",
    ]
    assert all(name.replace("_", "").isalnum() and name == name.lower() for name in names)
    assert len(set(names)) == len(names)


def test_ensure_table_leaves_an_identical_table_unchanged(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    wanted = table_input(REPORT, BUCKET, PREFIX)
    stubber.add_response(
        "get_table", {"Table": stored_table(wanted)}, {"DatabaseName": DATABASE, "Name": REPORT}
    )

    assert catalog.ensure_table(REPORT) == "unchanged"


def test_ensure_table_updates_a_table_missing_an_appended_column(
    glue: tuple[ReportCatalog, Stubber],
) -> None:
    catalog, stubber = glue
    wanted = table_input(REPORT, BUCKET, PREFIX)
    older = copy.deepcopy(wanted)
    older["StorageDescriptor"]["Columns"] = older["StorageDescriptor"]["Columns"][:-1]
    stubber.add_response(
        "get_table", {"Table": stored_table(older)}, {"DatabaseName": DATABASE, "Name": REPORT}
    )
    stubber.add_response("update_table", {}, {"DatabaseName": DATABASE, "TableInput": wanted})

    assert catalog.ensure_table(REPORT) == "updated"


def partition_params() -> dict[str, Any]:
    return {"DatabaseName": DATABASE, "TableName": REPORT, "PartitionInputList": ANY}


def test_register_partition_creates_it(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    stubber.add_response("batch_create_partition", {}, partition_params())
    sent: list[dict[str, Any]] = []
    catalog.glue.meta.events.register(
        "before-parameter-build.glue.BatchCreatePartition", lambda params, **_: sent.append(params)
    )

    assert catalog.register_partition(REPORT, "2025-03-04") == "created"

    (partition,) = sent[0]["PartitionInputList"]
    assert partition["Values"] == ["2025-03-04"]
    assert (
        partition["StorageDescriptor"]["Location"]
        == "s3://bucket/prefix/repositories_summary/report_date=2025-03-04/"
    )
    assert partition["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == OPEN_CSV_SERDE


def test_register_partition_twice_is_harmless(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    stubber.add_response(
        "batch_create_partition",
        {
            "Errors": [
                {
                    "PartitionValues": ["2025-03-04"],
                    "ErrorDetail": {
                        "ErrorCode": "AlreadyExistsException",
                        "ErrorMessage": "Partition already exists.",
                    },
                }
            ]
        },
        partition_params(),
    )

    assert catalog.register_partition(REPORT, "2025-03-04") == "existing"


def test_register_partition_reports_other_entry_errors(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    stubber.add_response(
        "batch_create_partition",
        {
            "Errors": [
                {
                    "PartitionValues": ["2025-03-04"],
                    "ErrorDetail": {"ErrorCode": "InvalidInputException", "ErrorMessage": "bad location"},
                }
            ]
        },
        partition_params(),
    )

    with pytest.raises(AwsCallError) as caught:
        catalog.register_partition(REPORT, "2025-03-04")

    message = str(caught.value)
    assert "glue:BatchCreatePartition" in message
    assert "InvalidInputException" in message
    assert "report_date=2025-03-04" in message
