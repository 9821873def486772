"""ReportLakePreflightOperator: what the run writes to is checked before any registry is read; a missing
or refused one fails at once, named with its IAM action, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_provider.core.layout import preflight_key
from ecr_provider.operators.preflight import ReportLakePreflightOperator
from ecr_provider.version_compat import AirflowFailException
from emulator.destination import ReportDestination
from emulator.server import ACCOUNT_ID, Emulator, client
from tests.operators.conftest import REGION, REPORT_DATE, RUN_ID, lake_arguments, task_context

PREFIX = "operator-preflight"
DATABASE = "ecr_operator_preflight"
MISSING_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:no-such-topic"


def preflight(destination: ReportDestination, **arguments: Any) -> ReportLakePreflightOperator:
    settings = {
        **lake_arguments(destination.bucket, PREFIX),
        "database": DATABASE,
        "sns_topic_arn": destination.topic_arn,
        **arguments,
    }
    return ReportLakePreflightOperator(task_id="preflight", **settings)


def written(emulator: Emulator, bucket: str, prefix: str = PREFIX) -> list[str]:
    listed = client("s3", emulator.endpoint_url, REGION).list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/")
    return [item["Key"] for item in listed.get("Contents", [])]


def databases(emulator: Emulator) -> list[str]:
    return [
        db["Name"] for db in client("glue", emulator.endpoint_url, REGION).get_databases()["DatabaseList"]
    ]


def test_a_ready_destination_is_recorded_beside_the_runs_plan(
    emulator: Emulator, destination: ReportDestination
) -> None:
    record = preflight(destination).execute(task_context())

    key = preflight_key(PREFIX, REPORT_DATE)
    assert written(emulator, destination.bucket) == [key]
    stored = client("s3", emulator.endpoint_url, REGION).get_object(Bucket=destination.bucket, Key=key)
    assert json.loads(stored["Body"].read()) == record
    assert record == {
        "run_id": RUN_ID,
        "report_date": REPORT_DATE,
        "bucket": destination.bucket,
        "prefix": PREFIX,
        "kms_key_id": None,
        "sns_topic_arn": destination.topic_arn,
        "topic": "exists",
        "database": DATABASE,
    }
    assert DATABASE in databases(emulator)


def test_alerts_off_check_no_topic(destination: ReportDestination) -> None:
    record = preflight(destination, report_prefix="preflight-no-alert", sns_topic_arn="").execute(
        task_context()
    )
    assert (record["topic"], record["sns_topic_arn"]) == ("off", None)


@pytest.mark.parametrize(
    ("arguments", "faults", "named"),
    [
        (
            {"report_bucket": "no-such-bucket-ecr"},
            {},
            r"s3:ListBucket on s3://no-such-bucket-ecr/.+ NoSuchBucket",
        ),
        (
            {"sns_topic_arn": MISSING_TOPIC},
            {},
            rf"sns:GetTopicAttributes on {MISSING_TOPIC} failed with NotFound",
        ),
        (
            {},
            {"glue:GetDatabase": ["denied"]},
            rf"glue:GetDatabase on {DATABASE}_denied failed with AccessDenied",
        ),
        (
            {"report_kms_key_id": "alias/ecr-reports"},
            {"s3:PutObject": ["denied"]},
            r"kms:GenerateDataKey on alias/ecr-reports for s3://.+/preflight\.json",
        ),
    ],
    ids=["bucket", "topic", "glue", "kms"],
)
def test_a_missing_or_refused_resource_fails_at_once_naming_it_with_nothing_written(
    arguments: dict[str, Any],
    faults: dict[str, list[str]],
    named: str,
    emulator: Emulator,
    destination: ReportDestination,
    request: pytest.FixtureRequest,
) -> None:
    prefix = f"preflight-{request.node.callspec.id}"
    database = f"{DATABASE}_denied"
    emulator.inject_faults(faults)
    operator = preflight(destination, report_prefix=prefix, database=database, **arguments)

    with pytest.raises(AirflowFailException, match=f"^Preflight: the run cannot write its results: {named}"):
        operator.execute(task_context())

    assert written(emulator, destination.bucket, prefix) == []
    if "kms" not in request.node.callspec.id:
        assert database not in databases(emulator)
