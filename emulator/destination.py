"""Where the demo's and the tests' reports go: a bucket, and an alert topic delivered to a queue a
test can read, as an email subscription would be read by a person."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from emulator.server import client

DEMO_BUCKET = "ecr-reports-demo"
DEMO_TOPIC = "ecr-report-alerts"
DEMO_QUEUE = "ecr-report-alerts-inbox"


@dataclass(frozen=True, slots=True)
class ReportDestination:
    bucket: str
    topic_arn: str
    queue_url: str
    queue_arn: str


def create_report_destination(endpoint_url: str, region: str) -> ReportDestination:
    """The bucket reports land in, and an alert topic whose messages a test can read from a queue."""
    s3, sns, sqs = (client(service, endpoint_url, region) for service in ("s3", "sns", "sqs"))
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=DEMO_BUCKET, **location)
    topic_arn = sns.create_topic(Name=DEMO_TOPIC)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=DEMO_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AlertTopicMayDeliver",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return ReportDestination(DEMO_BUCKET, topic_arn, queue_url, queue_arn)


def receive_notifications(endpoint_url: str, region: str, queue_url: str) -> list[dict[str, Any]]:
    """Drain the queue and return the SNS envelopes (``Subject``, ``Message``, ...) in arrival order."""
    sqs = client("sqs", endpoint_url, region)
    envelopes: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        envelopes.extend(json.loads(message["Body"]) for message in messages)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                for number, message in enumerate(messages)
            ],
        )
    return envelopes
