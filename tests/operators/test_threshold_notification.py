"""StorageThresholdAlertOperator sends a report date's alert once: a marker in S3 records the send.

Against the emulator: SNS delivers to an SQS queue, so "sent once" is counted where a subscriber
would see it. Each test uses its own report date, so markers never leak between tests.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from itertools import count
from typing import TYPE_CHECKING, Any, cast

import pytest

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.core.layout import alert_claim_key, breaches_key, notification_marker_key
from ecr_provider.core.thresholds import Breach
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.threshold_notification import (
    StorageThresholdAlertOperator,
    alert_id,
    fifo_arguments,
)
from ecr_provider.version_compat import AirflowFailException, AirflowSkipException
from emulator.destination import ReportDestination, receive_notifications
from emulator.server import Emulator, client
from tests.operators.conftest import GENERATION, REGION, plan_one_registry

if TYPE_CHECKING:
    from airflow.sdk import Context

pytestmark = pytest.mark.integration

PREFIX = "notify"
RUN_ID = "scheduled__2026-10-01T00:00:00+00:00"
GB = 2**30


def breach(name: str, gb: int, account: str = "123456789012") -> Breach:
    return Breach(name, account, REGION, gb * GB, Decimal(5), f"{gb / 10:.4f}", "3")


API, DB, CACHE = breach("team/api", 7), breach("team/db", 6), breach("team/cache", 9)
_days = count(1)


@pytest.fixture
def report_date(destination: ReportDestination, emulator: Emulator) -> str:
    """A date of its own, planned by this run, and an empty queue, per test."""
    receive_notifications(emulator.endpoint_url, REGION, destination.queue_url)
    date = f"2026-10-{next(_days):02d}"
    plan_one_registry(destination.bucket, PREFIX, date, RUN_ID)
    return date


def found(destination: ReportDestination, report_date: str, *breaches: Breach) -> None:
    """What the run's threshold step found over threshold."""
    record = {"run_id": RUN_ID, "breaches": [b.as_record() for b in breaches]}
    ReportLakeHook(aws_conn_id="emulator").write_json(
        destination.bucket, breaches_key(PREFIX, report_date, GENERATION), record
    )


def notify(
    destination: ReportDestination,
    report_date: str,
    breaches: tuple[Breach, ...] = (API, DB),
    **overrides: Any,
) -> dict[str, Any]:
    if breaches:
        found(destination, report_date, *breaches)
    arguments: dict[str, Any] = {
        "sns_topic_arn": destination.topic_arn,
        "report_bucket": destination.bucket,
        "report_prefix": PREFIX,
        "report_date": report_date,
        **overrides,
    }
    outcome: dict[str, Any] = StorageThresholdAlertOperator(
        task_id="notify_over_threshold", aws_conn_id="emulator", **arguments
    ).execute(cast("Context", {"run_id": RUN_ID}))
    return outcome


def marker(emulator: Emulator, bucket: str, report_date: str) -> dict[str, Any]:
    s3 = client("s3", emulator.endpoint_url, REGION)
    body = s3.get_object(Bucket=bucket, Key=notification_marker_key(PREFIX, report_date))["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def delivered(emulator: Emulator, destination: ReportDestination) -> list[dict[str, Any]]:
    return receive_notifications(emulator.endpoint_url, REGION, destination.queue_url)


def test_the_alert_is_sent_once_however_often_the_task_runs(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    first = notify(destination, report_date)
    again = notify(destination, report_date)

    messages = delivered(emulator, destination)
    assert len(messages) == 1
    assert messages[0]["MessageId"] == first["message_id"]
    page = f"s3://{destination.bucket}/{PREFIX}/_html/report_date={report_date}/report.html"
    assert messages[0]["Message"].endswith(f"The date's HTML report: {page}\n")
    assert first == {"message_id": first["message_id"], "repositories": ["team/api", "team/db"], "sent": True}
    assert again == {"message_id": first["message_id"], "repositories": [], "sent": False}
    recorded = marker(emulator, destination.bucket, report_date)
    send = {
        "subject": f"ECR report {report_date}: 2 repositories over storage threshold",
        "repositories": ["team/api", "team/db"],
        "message_id": first["message_id"],
        "sent_at": recorded["sent_at"],
        "resent": False,
    }
    assert recorded == {
        "report_date": report_date,
        "topic_arn": destination.topic_arn,
        **send,
        "alerted": ["123456789012/us-east-1/team/api", "123456789012/us-east-1/team/db"],
        "sends": [send],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", recorded["sent_at"])


def test_a_later_run_alerts_only_the_repositories_not_yet_named(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    """A lower threshold, or a repository that grew: one message for the newcomers, then nothing."""
    notify(destination, report_date, (API, DB))
    later = notify(destination, report_date, (CACHE, API, DB))
    nothing_new = notify(destination, report_date, (CACHE, API, DB))

    messages = delivered(emulator, destination)
    assert len(messages) == 2
    assert "- team/cache (123456789012 us-east-1)" in messages[1]["Message"]
    assert "team/api" not in messages[1]["Message"]
    assert messages[1]["Subject"] == f"ECR report {report_date}: 1 repository over storage threshold"
    assert later["repositories"] == ["team/cache"]
    assert nothing_new["sent"] is False
    recorded = marker(emulator, destination.bucket, report_date)
    assert len(recorded["alerted"]) == 3
    assert [send["repositories"] for send in recorded["sends"]] == [["team/api", "team/db"], ["team/cache"]]


def test_the_same_name_in_another_account_is_another_repository(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    notify(destination, report_date, (API,))
    notify(destination, report_date, (API, breach("team/api", 8, account="999999999999")))

    assert len(delivered(emulator, destination)) == 2


def test_a_marker_of_the_previous_release_counts_its_repositories_by_name(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    old = {"report_date": report_date, "repositories": ["team/api"], "message_id": "m-0", "sent_at": "x"}
    ReportLakeHook(aws_conn_id="emulator").write_json(
        destination.bucket, notification_marker_key(PREFIX, report_date), old
    )

    sent = notify(destination, report_date, (API, DB))

    assert sent["repositories"] == ["team/db"]


def test_a_breach_list_of_another_run_fails_instead_of_alerting_stale_repositories(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    record = {"run_id": "manual__earlier", "breaches": [API.as_record()]}
    ReportLakeHook(aws_conn_id="emulator").write_json(
        destination.bucket, breaches_key(PREFIX, report_date, GENERATION), record
    )

    with pytest.raises(AirflowFailException, match="This run recorded no repositories over threshold"):
        notify(destination, report_date, ())
    assert delivered(emulator, destination) == []


def test_force_resend_sends_again_and_the_marker_records_the_new_message(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    first = notify(destination, report_date)
    resent = notify(destination, report_date, force_resend=True)

    assert [message["MessageId"] for message in delivered(emulator, destination)] == [
        first["message_id"],
        resent["message_id"],
    ]
    assert resent["sent"] is True
    recorded = marker(emulator, destination.bucket, report_date)
    assert (recorded["message_id"], recorded["resent"]) == (resent["message_id"], True)


@pytest.mark.parametrize("faults", [["500"], ["503", "reset"], ["throttle", "timeout"]])
def test_a_marker_write_failing_transiently_is_retried(
    faults: list[str], emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    found(destination, report_date, API, DB)
    emulator.inject_faults({"s3:PutObject": faults})

    sent = notify(destination, report_date, ())

    assert emulator.faults_injected == [("s3:PutObject", fault) for fault in faults]
    assert marker(emulator, destination.bucket, report_date)["message_id"] == sent["message_id"]
    notify(destination, report_date)
    assert len(delivered(emulator, destination)) == 1


def test_a_marker_that_cannot_be_written_fails_the_task_without_retry_saying_it_was_sent(
    emulator: Emulator, destination: ReportDestination, report_date: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim is a PutObject too, so the refusal is the marker's alone: patched at the hook."""
    found(destination, report_date, API, DB)
    key = notification_marker_key(PREFIX, report_date)
    write_json = ReportLakeHook.write_json

    def refuse_the_marker(hook: ReportLakeHook, bucket: str, at: str, document: dict[str, Any]) -> None:
        if at == key:
            raise AwsCallError(f"s3:PutObject on s3://{bucket}/{at} failed with AccessDenied: Access Denied")
        write_json(hook, bucket, at, document)

    monkeypatch.setattr(ReportLakeHook, "write_json", refuse_the_marker)
    with pytest.raises(AirflowFailException) as caught:
        notify(destination, report_date, ())
    monkeypatch.undo()

    messages = delivered(emulator, destination)
    assert len(messages) == 1
    assert str(caught.value).startswith(
        f"The alert was sent (MessageId {messages[0]['MessageId']}) but its marker could not be written: "
        f"s3:PutObject on s3://{destination.bucket}/{key} failed with AccessDenied"
    )
    assert "stands, so a rerun does not send it again" in str(caught.value)
    assert notify(destination, report_date)["sent"] is False  # the rerun: the claim stands, no marker
    assert delivered(emulator, destination) == []


def test_of_two_runs_sending_the_same_alert_only_the_one_that_claims_it_publishes(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    """The other run read the marker, as this one did, before either sent: its claim comes first."""
    found(destination, report_date, API, DB)
    other = {
        "run_id": "manual__other",
        "claimed_at": "2026-10-01T00:00:01+00:00",
        "token": "t",
        "repositories": [],
    }
    key = alert_claim_key(PREFIX, report_date, alert_id(report_date, None, [API.identity, DB.identity]))
    assert ReportLakeHook(aws_conn_id="emulator").claim(destination.bucket, key, other)

    outcome = notify(destination, report_date, ())

    assert outcome == {"message_id": None, "repositories": [], "sent": False}
    assert delivered(emulator, destination) == []
    assert not ReportLakeHook(aws_conn_id="emulator").claim(destination.bucket, key, {"run_id": "third"})


def test_a_publish_that_fails_releases_its_claim_so_the_retry_sends_once(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    found(destination, report_date, API, DB)
    missing = destination.topic_arn.rsplit(":", 1)[0] + ":no-such-topic"

    with pytest.raises(AwsCallError, match=rf"^sns:Publish on {missing} failed with NotFound"):
        notify(destination, report_date, (), sns_topic_arn=missing)
    assert delivered(emulator, destination) == []

    retried = notify(destination, report_date, ())
    assert retried["sent"] is True
    assert [message["MessageId"] for message in delivered(emulator, destination)] == [retried["message_id"]]


def test_a_marker_that_cannot_be_read_fails_before_publishing(
    emulator: Emulator, destination: ReportDestination, report_date: str
) -> None:
    emulator.inject_faults({"s3:GetObject": ["denied"]})
    key = notification_marker_key(PREFIX, report_date)

    with pytest.raises(
        AwsCallError, match=rf"^s3:GetObject on s3://{destination.bucket}/{key} failed with Access"
    ):
        notify(destination, report_date)

    assert delivered(emulator, destination) == []


def test_a_fifo_topic_drops_a_repeat_whose_marker_was_lost(emulator: Emulator, report_date: str) -> None:
    """The window publish-then-mark leaves open: the deduplication id closes it for 5 minutes."""
    sns, sqs, s3 = (client(service, emulator.endpoint_url, REGION) for service in ("sns", "sqs", "s3"))
    topic = sns.create_topic(Name="ecr-report-alerts.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    queue = sqs.create_queue(QueueName="ecr-report-inbox.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    destination = ReportDestination("ecr-reports-demo", topic, queue, queue_arn)

    notify(destination, report_date)
    s3.delete_object(Bucket=destination.bucket, Key=notification_marker_key(PREFIX, report_date))
    notify(destination, report_date)

    assert len(delivered(emulator, destination)) == 1


def test_an_empty_topic_means_notifications_are_off(destination: ReportDestination, report_date: str) -> None:
    with pytest.raises(AirflowSkipException, match="notifications are off"):
        notify(destination, report_date, sns_topic_arn="")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"force_resend": "True"}, "force_resend must be true or false, got 'True'"),
        ({"force_resend": 1}, "force_resend must be true or false, got 1"),
        ({"report_date": "20261120"}, "report date '20261120' is not YYYY-MM-DD"),
        ({"report_bucket": "Reports_Bucket"}, "report_bucket 'Reports_Bucket'"),
        ({"report_prefix": "/reports"}, "report_prefix '/reports'"),
        ({"sns_topic_arn": "arn:aws:sqs:us-east-1:123456789012:q"}, "sns_topic_arn 'arn:aws:sqs"),
    ],
)
def test_bad_arguments_are_refused_naming_the_value_before_any_call(
    overrides: dict[str, Any], named: str, emulator: Emulator, destination: ReportDestination
) -> None:
    emulator.inject_faults({"s3:GetObject": ["denied"]})  # any call would fail differently

    with pytest.raises(ValueError, match=re.escape(named)):
        notify(destination, **{"report_date": "2026-09-30", **overrides})
    assert emulator.faults_injected == []


def test_fifo_arguments_are_deterministic_per_date_and_resent_message() -> None:
    standard = "arn:aws:sns:us-east-1:123456789012:alerts"
    fifo = standard + ".fifo"
    assert fifo_arguments(standard, "2026-11-20", None) == {}
    assert fifo_arguments(fifo, "2026-11-20", None) == {
        "message_group_id": "ecr-report",
        "message_deduplication_id": "ecr-report-2026-11-20",
    }
    assert fifo_arguments(fifo, "2026-11-20", {"message_id": "m-1"})["message_deduplication_id"] == (
        "ecr-report-2026-11-20-resend-m-1"
    )
    first = fifo_arguments(fifo, "2026-11-20", None, ["a/r/x", "a/r/y"])["message_deduplication_id"]
    assert first == fifo_arguments(fifo, "2026-11-20", None, ["a/r/y", "a/r/x"])["message_deduplication_id"]
    assert first != fifo_arguments(fifo, "2026-11-20", None, ["a/r/z"])["message_deduplication_id"]
