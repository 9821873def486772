"""Check where a run writes before it reads any registry, so a missing bucket, topic or database fails
the run in seconds, naming it, with nothing written, instead of after every registry was read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.sns import SnsHook
from botocore.exceptions import ClientError

from ecr_provider.aws.errors import AwsCallError, aws_call, error_code
from ecr_provider.core.layout import preflight_key
from ecr_provider.core.settings import check_database, check_topic_arn
from ecr_provider.hooks.report_lake import ReportLakeHook
from ecr_provider.operators.base_lake import LakeLocation, ReportLakeOperator, lake_template_fields
from ecr_provider.version_compat import AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context

TOPIC_REFUSED = {"AuthorizationError", "AccessDenied", "AccessDeniedException"}
"""SNS's answers when sns:GetTopicAttributes is not granted: the topic cannot be checked, only used."""


class ReportLakePreflightOperator(ReportLakeOperator[ReportLakeHook]):
    """
    Check, before any registry is read, everything the run needs to write its results:

    1. the report bucket exists and the prefix can be listed (s3:ListBucket);
    2. with alerts on, the SNS topic exists (sns:GetTopicAttributes; refused, the topic is not checked
       and one warning says so, since publishing needs only sns:Publish);
    3. the Glue database exists or can be created (glue:GetDatabase, glue:CreateDatabase);
    4. an object can be written under the prefix, with the KMS key when one is set (s3:PutObject,
       kms:GenerateDataKey): ``{prefix}/_runs/report_date=YYYY-MM-DD/preflight.json``, a record of
       what was checked, is that object.

    The reads come first, so a missing bucket, topic or database leaves nothing written. A failure fails
    the run at once, without retry (none can create a bucket), naming the resource and the IAM action.

    ``report_bucket``, ``report_prefix``, ``report_date`` and ``report_kms_key_id`` are those of
    :class:`~ecr_provider.operators.base_lake.ReportLakeOperator`.

    :param database: Glue database the reports are registered in (templated)
    :param sns_topic_arn: topic of the threshold alert, or empty when alerts are off (templated)
    """

    aws_hook_class = ReportLakeHook
    template_fields: Sequence[str] = lake_template_fields("database", "sns_topic_arn")

    def __init__(self, *, database: str, sns_topic_arn: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.database = database
        self.sns_topic_arn = sns_topic_arn

    def execute(self, context: Context) -> dict[str, Any]:
        lake = self.lake_location()
        database = check_database(self.database)
        topic = check_topic_arn(self.sns_topic_arn)
        try:
            self._check_bucket(lake)
            checked_topic = self._check_topic(topic) if topic else "off"
            self.catalog_hook().catalog(database, lake.bucket, lake.prefix).ensure_database()
            record = {
                "run_id": context["run_id"],
                "report_date": lake.report_date,
                "bucket": lake.bucket,
                "prefix": lake.prefix,
                "kms_key_id": self.report_kms_key_id or None,
                "sns_topic_arn": topic or None,
                "topic": checked_topic,
                "database": database,
            }
            key = preflight_key(lake.prefix, lake.report_date)
            self.hook.write_json(lake.bucket, key, record)
        except AwsCallError as error:
            raise AirflowFailException(f"Preflight: the run cannot write its results: {error}") from error
        self.log.info(
            "Preflight: bucket %s, topic %s, Glue database %s and a write (%s) checked",
            lake.bucket,
            checked_topic if topic else "off (no alert)",
            database,
            lake.url(key),
        )
        return record

    def _check_bucket(self, lake: LakeLocation) -> None:
        """One listing of at most one key under the prefix: the action the run's listings need, and
        allowed by a policy that limits s3:ListBucket to the prefix (HeadBucket would not be)."""
        listed = f"{lake.prefix}/" if lake.prefix else ""
        with aws_call("s3", lake.url(listed)):
            self.hook.conn.list_objects_v2(Bucket=lake.bucket, Prefix=listed, MaxKeys=1)

    def _check_topic(self, topic: str) -> str:
        sns = SnsHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify)
        with aws_call("sns", topic):
            try:
                sns.conn.get_topic_attributes(TopicArn=topic)
            except ClientError as error:
                if error_code(error) not in TOPIC_REFUSED:
                    raise
                self.log.warning(
                    "sns:GetTopicAttributes on %s was refused, so the topic was not checked before the run; "
                    "grant it to learn of a missing topic before any registry is read",
                    topic,
                )
                return "not checked"
        return "exists"
