"""ReportCatalog against botocore's Stubber, which checks every request and response with Glue's model."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.glue_catalog import OPEN_CSV_SERDE, ReportCatalog, table_input
from ecr_provider.core.columns import REPORTS
from emulator.moto_iam import iam_enforced
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.conftest import REPO_ROOT

DATABASE = "ecr_reports"
BUCKET = "bucket"
PREFIX = "prefix"
REPORT = "repositories_summary"
REGION = "us-east-1"


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


def make_older(descriptor: dict[str, Any], stale: str) -> None:
    """A storage descriptor as an older release wrote it: before a column, or the escape character."""
    if stale == "columns":
        descriptor["Columns"] = descriptor["Columns"][:-1]
    else:
        del descriptor["SerdeInfo"]["Parameters"]["escapeChar"]


@pytest.mark.parametrize("stale", ["columns", "escape"])
def test_ensure_table_updates_a_table_missing_an_appended_column_or_the_escape_character(
    glue: tuple[ReportCatalog, Stubber], stale: str
) -> None:
    catalog, stubber = glue
    wanted = table_input(REPORT, BUCKET, PREFIX)
    older = copy.deepcopy(wanted)
    make_older(older["StorageDescriptor"], stale)
    stubber.add_response(
        "get_table", {"Table": stored_table(older)}, {"DatabaseName": DATABASE, "Name": REPORT}
    )
    stubber.add_response("update_table", {}, {"DatabaseName": DATABASE, "TableInput": wanted})

    assert catalog.ensure_table(REPORT) == "updated"


GENERATION = "20250304T010203Z-0a1b2c3d"


def partition_params() -> dict[str, Any]:
    return {"DatabaseName": DATABASE, "TableName": REPORT, "PartitionInputList": ANY}


def test_register_partition_creates_it(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    stubber.add_response("batch_create_partition", {}, partition_params())
    sent: list[dict[str, Any]] = []
    catalog.glue.meta.events.register(
        "before-parameter-build.glue.BatchCreatePartition", lambda params, **_: sent.append(params)
    )

    assert catalog.register_partition(REPORT, "2025-03-04", GENERATION) == "created"

    (partition,) = sent[0]["PartitionInputList"]
    assert partition["Values"] == ["2025-03-04"]
    assert (
        partition["StorageDescriptor"]["Location"]
        == f"s3://bucket/prefix/repositories_summary/report_date=2025-03-04/generation={GENERATION}/"
    )
    assert partition["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == OPEN_CSV_SERDE


def already_exists(stubber: Stubber) -> None:
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


def stored_partition(descriptor: dict[str, Any]) -> dict[str, Any]:
    """What GetPartition gives back: the partition's own descriptor and Glue's bookkeeping."""
    stored = copy.deepcopy(descriptor)
    stored.update(Compressed=False, NumberOfBuckets=-1, StoredAsSubDirectories=False, Parameters={})
    return {
        "Partition": {
            "Values": ["2025-03-04"],
            "DatabaseName": DATABASE,
            "TableName": REPORT,
            "CreationTime": datetime(2025, 1, 1, tzinfo=UTC),
            "StorageDescriptor": stored,
        }
    }


GET_PARTITION = {"DatabaseName": DATABASE, "TableName": REPORT, "PartitionValues": ["2025-03-04"]}


def wanted_partition() -> dict[str, Any]:
    descriptor = table_input(REPORT, BUCKET, PREFIX)["StorageDescriptor"]
    descriptor["Location"] = (
        f"s3://bucket/prefix/repositories_summary/report_date=2025-03-04/generation={GENERATION}/"
    )
    return {"Values": ["2025-03-04"], "StorageDescriptor": descriptor}


def test_register_partition_twice_is_harmless(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    already_exists(stubber)
    stubber.add_response(
        "get_partition", stored_partition(wanted_partition()["StorageDescriptor"]), GET_PARTITION
    )

    assert catalog.register_partition(REPORT, "2025-03-04", GENERATION) == "existing"


@pytest.mark.parametrize("stale", ["columns", "escape"])
def test_a_partition_registered_by_an_older_release_takes_the_tables_definition(
    glue: tuple[ReportCatalog, Stubber], stale: str
) -> None:
    catalog, stubber = glue
    wanted = wanted_partition()
    older = copy.deepcopy(wanted["StorageDescriptor"])
    make_older(older, stale)
    already_exists(stubber)
    stubber.add_response("get_partition", stored_partition(older), GET_PARTITION)
    stubber.add_response(
        "batch_update_partition",
        {},
        {
            "DatabaseName": DATABASE,
            "TableName": REPORT,
            "Entries": [{"PartitionValueList": ["2025-03-04"], "PartitionInput": wanted}],
        },
    )

    assert catalog.register_partition(REPORT, "2025-03-04", GENERATION) == "updated"


def test_a_partition_on_another_generation_is_switched_in_one_update(
    glue: tuple[ReportCatalog, Stubber],
) -> None:
    catalog, stubber = glue
    wanted = wanted_partition()
    previous = copy.deepcopy(wanted["StorageDescriptor"])
    previous["Location"] = previous["Location"].replace(GENERATION, "20250303T000000Z-00000000")
    already_exists(stubber)
    stubber.add_response("get_partition", stored_partition(previous), GET_PARTITION)
    stubber.add_response(
        "batch_update_partition",
        {},
        {
            "DatabaseName": DATABASE,
            "TableName": REPORT,
            "Entries": [{"PartitionValueList": ["2025-03-04"], "PartitionInput": wanted}],
        },
    )

    assert catalog.register_partition(REPORT, "2025-03-04", GENERATION) == "updated"


def test_a_failed_partition_update_names_the_action(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    older = copy.deepcopy(wanted_partition()["StorageDescriptor"])
    make_older(older, "columns")
    already_exists(stubber)
    stubber.add_response("get_partition", stored_partition(older), GET_PARTITION)
    stubber.add_response(
        "batch_update_partition",
        {
            "Errors": [
                {
                    "PartitionValueList": ["2025-03-04"],
                    "ErrorDetail": {"ErrorCode": "EntityNotFoundException", "ErrorMessage": "gone"},
                }
            ]
        },
        {"DatabaseName": DATABASE, "TableName": REPORT, "Entries": ANY},
    )

    with pytest.raises(
        AwsCallError,
        match=r"glue:BatchUpdatePartition on ecr_reports\.repositories_summary report_date=2025-03-04 "
        r"failed with EntityNotFoundException: gone",
    ):
        catalog.register_partition(REPORT, "2025-03-04", GENERATION)


def test_a_denied_partition_read_names_the_action(glue: tuple[ReportCatalog, Stubber]) -> None:
    catalog, stubber = glue
    already_exists(stubber)
    stubber.add_client_error(
        "get_partition",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
        http_status_code=400,
        expected_params=GET_PARTITION,
    )

    with pytest.raises(AwsCallError, match=r"glue:GetPartition on .* failed with AccessDeniedException"):
        catalog.register_partition(REPORT, "2025-03-04", GENERATION)


def test_the_serde_sets_every_character_the_canonical_csv_is_written_for() -> None:
    serde = table_input(REPORT, BUCKET, PREFIX)["StorageDescriptor"]["SerdeInfo"]

    assert serde == {
        "SerializationLibrary": OPEN_CSV_SERDE,
        "Parameters": {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"},
    }


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
        catalog.register_partition(REPORT, "2025-03-04", GENERATION)

    message = str(caught.value)
    assert "glue:BatchCreatePartition" in message
    assert "InvalidInputException" in message
    assert "report_date=2025-03-04" in message


POLICY_FILE = REPO_ROOT / "iam" / "ecr-report-policy.json"
ENFORCED_DATE = "2026-11-20"


def policy_for(account_id: str, region: str, *, without: str | None = None) -> str:
    """The repo's policy for this database, optionally without one action."""
    text = POLICY_FILE.read_text()
    for placeholder, value in {
        "REGISTRY_ACCOUNT_ID": account_id,
        "ACCOUNT_ID": account_id,
        "GLUE_REGION": region,
        "ATHENA_DATABASE": DATABASE,
    }.items():
        text = text.replace(placeholder, value)
    document = json.loads(text)
    for statement in document["Statement"]:
        actions = statement["Action"]
        statement["Action"] = [
            a for a in ([actions] if isinstance(actions, str) else actions) if a != without
        ]
    document["Statement"] = [statement for statement in document["Statement"] if statement["Action"]]
    return json.dumps(document)


@pytest.fixture(scope="module")
def enforced_glue() -> Iterator[tuple[Emulator, ReportCatalog]]:
    """A table with one partition registered before a column was appended, and the admin's catalog."""
    with Emulator() as emulator:
        admin = ReportCatalog(client("glue", emulator.endpoint_url, REGION), DATABASE, BUCKET, PREFIX)
        admin.ensure_database()
        admin.ensure_table(REPORT)
        yield emulator, admin


def user_catalog(emulator: Emulator, name: str, policy: str) -> ReportCatalog:
    iam = client("iam", emulator.endpoint_url, REGION)
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=name, PolicyDocument=policy)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    glue = boto3.client(
        "glue",
        endpoint_url=emulator.endpoint_url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return ReportCatalog(glue, DATABASE, BUCKET, PREFIX)


def make_stale(admin: ReportCatalog) -> None:
    """The date's partition as an older release registered it: one column fewer than the table."""
    admin.register_partition(REPORT, ENFORCED_DATE, GENERATION)
    stored = admin.glue.get_partition(
        DatabaseName=DATABASE, TableName=REPORT, PartitionValues=[ENFORCED_DATE]
    )["Partition"]["StorageDescriptor"]
    stored["Columns"] = stored["Columns"][:-1]
    admin.glue.update_partition(
        DatabaseName=DATABASE,
        TableName=REPORT,
        PartitionValueList=[ENFORCED_DATE],
        PartitionInput={"Values": [ENFORCED_DATE], "StorageDescriptor": stored},
    )


def stored_columns(admin: ReportCatalog) -> int:
    partition = admin.glue.get_partition(
        DatabaseName=DATABASE, TableName=REPORT, PartitionValues=[ENFORCED_DATE]
    )
    return len(partition["Partition"]["StorageDescriptor"]["Columns"])


def test_the_policy_lets_a_stale_partition_be_updated(enforced_glue: tuple[Emulator, ReportCatalog]) -> None:
    emulator, admin = enforced_glue
    make_stale(admin)
    user = user_catalog(emulator, "glue-whole-policy", policy_for(ACCOUNT_ID, REGION))

    with iam_enforced():
        outcome = user.register_partition(REPORT, ENFORCED_DATE, GENERATION)
        again = user.register_partition(REPORT, ENFORCED_DATE, GENERATION)

    assert (outcome, again) == ("updated", "existing")
    assert stored_columns(admin) == len(REPORTS[REPORT])


@pytest.mark.parametrize("action", ["glue:GetPartition", "glue:BatchUpdatePartition"])
def test_without_the_action_updating_a_stale_partition_fails_naming_it(
    enforced_glue: tuple[Emulator, ReportCatalog], action: str
) -> None:
    emulator, admin = enforced_glue
    make_stale(admin)
    name = "glue-without-" + action.partition(":")[2].lower()
    user = user_catalog(emulator, name, policy_for(ACCOUNT_ID, REGION, without=action))

    with iam_enforced(), pytest.raises(AwsCallError) as caught:
        user.register_partition(REPORT, ENFORCED_DATE, GENERATION)

    assert str(caught.value).startswith(
        f"{action} on {DATABASE}.{REPORT} report_date={ENFORCED_DATE} failed with AccessDeniedException"
    )
    assert stored_columns(admin) == len(REPORTS[REPORT]) - 1
