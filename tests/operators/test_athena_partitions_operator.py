"""AthenaReportPartitionsOperator on the emulator's Glue: a table, a typed view and the date's partition
at the generation its manifest makes visible per report, and nothing added by running it again."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.core.columns import REPORTS
from ecr_provider.core.layout import generation_prefix, run_manifest_key
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.athena_partitions import AthenaReportPartitionsOperator
from ecr_provider.queries.views import typed_view
from emulator.destination import ReportDestination
from emulator.server import Emulator, client
from tests.operators.conftest import GENERATION, REGION, REPORT_DATE, lake_arguments, task_context

PREFIX = "operator-partitions"
DATABASE = "ecr_operator_partitions"


def partitions_operator(bucket: str, **arguments: Any) -> AthenaReportPartitionsOperator:
    return AthenaReportPartitionsOperator(
        task_id="register_partitions", **{"database": DATABASE, **lake_arguments(bucket, PREFIX), **arguments}
    )


def test_every_report_gets_a_table_a_view_and_the_partition_of_the_visible_generation_once(
    emulator: Emulator, destination: ReportDestination
) -> None:
    without_manifest = partitions_operator(destination.bucket).execute(task_context())
    ReportLakeHook(aws_conn_id="emulator").write_json(
        destination.bucket,
        run_manifest_key(PREFIX, REPORT_DATE),
        {"complete": True, "generation": GENERATION, "reports": list(REPORTS)},
    )
    first = partitions_operator(destination.bucket).execute(task_context())
    again = partitions_operator(destination.bucket).execute(task_context())

    assert without_manifest == {
        "database": DATABASE,
        "report_date": REPORT_DATE,
        "generation": None,
        "tables": {report: {"table": "created", "view": "created"} for report in REPORTS},
        "partitions": {},
    }
    assert (first["generation"], first["partitions"]) == (
        GENERATION,
        dict.fromkeys(REPORTS, "created"),
    )
    assert again["tables"] == {report: {"table": "unchanged", "view": "unchanged"} for report in REPORTS}
    assert again["partitions"] == dict.fromkeys(REPORTS, "existing")
    glue = client("glue", emulator.endpoint_url, REGION)
    for report in REPORTS:
        (partition,) = glue.get_partitions(DatabaseName=DATABASE, TableName=report)["Partitions"]
        assert partition["Values"] == [REPORT_DATE]
        assert partition["StorageDescriptor"]["Location"] == (
            f"s3://{destination.bucket}/{generation_prefix(PREFIX, report, REPORT_DATE, GENERATION)}"
        )


def test_only_the_reports_asked_for_are_registered(
    emulator: Emulator, destination: ReportDestination
) -> None:
    database = "ecr_operator_one_report"
    outcome = partitions_operator(
        destination.bucket, database=database, reports=["repositories_summary"]
    ).execute(task_context())

    assert list(outcome["tables"]) == ["repositories_summary"]
    tables = client("glue", emulator.endpoint_url, REGION).get_tables(DatabaseName=database)["TableList"]
    assert sorted(table["Name"] for table in tables) == sorted(
        ["repositories_summary", typed_view("repositories_summary").name]
    )


def test_an_unknown_report_is_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match=r"unknown report\(s\) \['nope'\]"):
        partitions_operator("ecr-reports-demo", reports=["nope"])


def test_a_denied_glue_call_names_the_action(emulator: Emulator, destination: ReportDestination) -> None:
    emulator.inject_faults({"glue:GetDatabase": ["denied"]})
    with pytest.raises(
        AwsCallError, match=r"^glue:GetDatabase on ecr_operator_denied failed with AccessDenied"
    ):
        partitions_operator(destination.bucket, database="ecr_operator_denied").execute(task_context())


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"database": "Bad-Name"}, "athena_database 'Bad-Name'"),
        ({"report_prefix": "/p"}, "report_prefix '/p'"),
        ({"report_date": "20261120"}, "report date '20261120'"),
    ],
)
def test_a_bad_rendered_value_is_refused_before_any_glue_call(
    arguments: dict[str, Any], named: str, emulator: Emulator, destination: ReportDestination
) -> None:
    emulator.inject_faults({"glue:GetDatabase": ["denied"]})
    with pytest.raises(ValueError, match=named):
        partitions_operator(destination.bucket, **arguments).execute(task_context())
    assert emulator.faults_injected == []
