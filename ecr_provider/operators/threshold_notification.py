"""Publish a report date's one storage-threshold alert to SNS, once, however often the task is retried."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from airflow.providers.amazon.aws.hooks.sns import SnsHook
from botocore.config import Config

from ecr_provider.aws.errors import AwsCallError, aws_call
from ecr_provider.core.alert import BreachesRecord, build_alert, not_yet_alerted
from ecr_provider.core.layout import alert_claim_key, breaches_key, html_report_key, notification_marker_key
from ecr_provider.core.settings import check_flag, check_topic_arn
from ecr_provider.core.thresholds import Breach
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.base_lake import ReportLakeOperator, lake_template_fields
from ecr_provider.operators.usage import read_plan
from ecr_provider.version_compat import AirflowFailException, AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context

FIFO_GROUP = "ecr-report"
MARKER_RETRIES = {"mode": "standard", "max_attempts": 10}
"""Up to 10 retries (botocore's ``max_attempts`` counts retries): the marker is written after the message
went out, and a lost marker means a retried task sends the alert again."""


def alert_id(report_date: str, previous: Mapping[str, Any] | None, repositories: Sequence[str] = ()) -> str:
    """The one alert of the date naming ``repositories``: the date's and its repositories' (a later alert
    of the same date names others), and a forced resend's is the resent message's."""
    which = (
        f"-{hashlib.sha256(','.join(sorted(repositories)).encode()).hexdigest()[:16]}" if repositories else ""
    )
    resend = f"-resend-{previous['message_id']}" if previous else ""
    return f"ecr-report-{report_date}{which}{resend}"


def fifo_arguments(
    topic_arn: str, report_date: str, previous: Mapping[str, Any] | None, repositories: Sequence[str] = ()
) -> dict[str, Any]:
    """FIFO topics drop a repeated deduplication id for 5 minutes: the alert's id. Standard topics have
    no deduplication, so nothing is passed."""
    if not topic_arn.endswith(".fifo"):
        return {}
    return {
        "message_group_id": FIFO_GROUP,
        "message_deduplication_id": alert_id(report_date, previous, repositories),
    }


class StorageThresholdAlertOperator(ReportLakeOperator[SnsHook]):
    """
    Publish one SNS message about the run's repositories over threshold that no alert of the report
    date has named yet, read from what ``RepositoriesOverThresholdOperator`` found.

    A marker, ``{prefix}/_notifications/report_date=YYYY-MM-DD/alert.json``, records every repository
    an alert of the date named (account, region and name) and each message sent (subject, MessageId,
    sent-at). A task retry, a rerun or a later run of the date sends nothing for repositories already
    named, and one message for those newly over (a lower threshold, a repository that grew), unless
    ``force_resend``, which names them all again. An empty ``sns_topic_arn`` means notifications are
    off: the task skips and says so, before any read.

    Order: read the marker, claim the alert, publish, write the marker. The claim,
    ``{prefix}/_notifications/report_date=YYYY-MM-DD/claims/{alert id}.json``, is written with S3's
    conditional write (``If-None-Match: *``), so of two runs (or tries) that would send the same alert
    (same date, same repositories, same resent message) only the one whose write created it publishes;
    the other logs who claimed it and sends nothing. Publishing that fails removes the claim, so a retry
    sends the alert; if the claim cannot be removed the task fails saying so, and deleting the claim
    lets a rerun send it. A task killed between claim and publish leaves the claim: that alert is not
    sent again (at most once), the claim names the run, and ``force_resend`` sends it. A marker that
    cannot be written after the publish (botocore retries it, standard mode, up to 10 retries) fails
    the task without retry; the claim still stands, so a rerun does not send the alert twice. On a FIFO
    topic the alert id is also the deduplication id.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.

    :param sns_topic_arn: topic to publish to, or empty (templated)
    :param force_resend: name every repository over threshold again; the marker then records the new
        message (templated: pass an XCom or param that holds a bool, not a rendered string)
    """

    aws_hook_class = SnsHook
    template_fields: Sequence[str] = lake_template_fields("sns_topic_arn", "force_resend")

    def __init__(
        self,
        *,
        sns_topic_arn: str,
        force_resend: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sns_topic_arn = sns_topic_arn
        self.force_resend = force_resend

    def execute(self, context: Context) -> dict[str, Any]:
        topic = check_topic_arn(self.sns_topic_arn)
        where = self.lake_location()
        bucket, prefix, report_date = where
        force = check_flag(self.force_resend, "force_resend")
        if not topic:
            raise AirflowSkipException("sns_topic_arn is empty: notifications are off for this run")
        lake = self.lake_hook(tuning=Config(retries=MARKER_RETRIES))
        key = notification_marker_key(prefix, report_date)
        sent = lake.read_json(bucket, key)
        plan = read_plan(lake, where, context["run_id"])
        recorded = breaches_key(prefix, report_date, plan["generation"])
        found = lake.read_json(bucket, recorded)
        if found is None or found["run_id"] != context["run_id"]:
            raise AirflowFailException(
                f"This run recorded no repositories over threshold at s3://{bucket}/{recorded}: the "
                "storage_over_threshold task writes them"
            )
        breaches = [Breach.from_record(record) for record in cast("BreachesRecord", found)["breaches"]]
        new = not_yet_alerted(breaches, sent, force=force)
        if not new:
            self.log.info(
                "The alert for %s was already sent for all %d repositories over threshold (last at %s, "
                "MessageId %s, marker s3://%s/%s); not sending it again. Set force_resend to send it anyway.",
                report_date,
                len(breaches),
                sent and sent.get("sent_at"),
                sent and sent.get("message_id"),
                bucket,
                key,
            )
            return {"message_id": sent and sent.get("message_id"), "repositories": [], "sent": False}
        page = f"s3://{bucket}/{html_report_key(prefix, report_date)}"
        alert = build_alert(new, report_date, report_location=page)
        identities = [breach.identity for breach in new]
        previous = sent if force else None
        claim_key = alert_claim_key(prefix, report_date, alert_id(report_date, previous, identities))
        claim = {
            "run_id": context["run_id"],
            "claimed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "token": uuid.uuid4().hex,
            "repositories": identities,
        }
        if not lake.claim(bucket, claim_key, claim):
            claimed = lake.read_json(bucket, claim_key) or {}
            self.log.info(
                "The alert for %s naming %d repositories was claimed by run %s at %s (s3://%s/%s): another "
                "run or try sends it, so this one does not. Set force_resend to send it anyway.",
                report_date,
                len(identities),
                claimed.get("run_id"),
                claimed.get("claimed_at"),
                bucket,
                claim_key,
            )
            return {"message_id": None, "repositories": [], "sent": False}
        try:
            with aws_call("sns", topic):
                response = self.hook.publish_to_target(
                    target_arn=topic,
                    message=alert.message,
                    subject=alert.subject,
                    **fifo_arguments(topic, report_date, previous, identities),
                )
        except AwsCallError as error:
            self._release(lake, bucket, claim_key, error)
            raise
        send = {
            "subject": alert.subject,
            "repositories": list(alert.repositories),
            "message_id": response["MessageId"],
            "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "resent": force and sent is not None,
        }
        marker = {
            "report_date": report_date,
            "topic_arn": topic,
            **send,
            "alerted": sorted({*(sent or {}).get("alerted", ()), *identities}),
            "sends": [*(sent or {}).get("sends", ()), send],
        }
        try:
            lake.write_json(bucket, key, marker)
        except AwsCallError as error:
            raise AirflowFailException(
                f"The alert was sent (MessageId {send['message_id']}) but its marker could not be "
                f"written: {error}. Not retrying; its claim s3://{bucket}/{claim_key} stands, so a rerun "
                "does not send it again."
            ) from error
        self.log.info(
            "Published alert for %d repositories to %s (MessageId %s)%s",
            len(new),
            topic,
            send["message_id"],
            ", a forced resend" if send["resent"] else "",
        )
        return {"message_id": send["message_id"], "repositories": send["repositories"], "sent": True}

    def _release(self, lake: ReportLakeHook, bucket: str, claim_key: str, error: AwsCallError) -> None:
        """The alert was not sent: remove its claim so a retry can send it."""
        try:
            lake.delete_keys(bucket, [claim_key])
        except AwsCallError as kept:
            raise AirflowFailException(
                f"The alert was not sent ({error}), and its claim s3://{bucket}/{claim_key} could not be "
                f"removed ({kept}): delete it, then rerun the date to send the alert"
            ) from error
