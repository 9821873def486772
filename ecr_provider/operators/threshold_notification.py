"""Publish the run's one storage-threshold alert to SNS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.sns import SnsHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk.exceptions import AirflowSkipException
from botocore.exceptions import BotoCoreError, ClientError

from ecr_provider.aws.errors import describe_failure
from ecr_provider.core.settings import check_topic_arn

if TYPE_CHECKING:
    from airflow.sdk import Context


class StorageThresholdAlertOperator(AwsBaseOperator[SnsHook]):
    """
    Send the alert built by ``RepositoryStorageThresholdSensor`` as one SNS message.

    An empty ``sns_topic_arn`` means notifications are off: the task skips and says so.

    :param sns_topic_arn: topic to publish to, or empty (templated)
    :param alert: the sensor's XCom: ``subject``, ``message`` and ``repositories`` (templated)
    """

    aws_hook_class = SnsHook
    template_fields: Sequence[str] = aws_template_fields("sns_topic_arn", "alert")

    def __init__(self, *, sns_topic_arn: str, alert: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sns_topic_arn = sns_topic_arn
        self.alert = alert

    def execute(self, context: Context) -> dict[str, Any]:
        topic = check_topic_arn(self.sns_topic_arn)
        if not topic:
            raise AirflowSkipException("sns_topic_arn is empty: notifications are off for this run")
        try:
            response = self.hook.publish_to_target(
                target_arn=topic, message=self.alert["message"], subject=self.alert["subject"]
            )
        except (ClientError, BotoCoreError) as error:
            raise describe_failure(error, "sns", topic) from error
        message_id = response["MessageId"]
        self.log.info("Published alert for %d repositories to %s", len(self.alert["repositories"]), topic)
        return {"message_id": message_id, "repositories": list(self.alert["repositories"])}
