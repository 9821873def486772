"""AWS failures turned into messages that name the denied action and the resource."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

IAM_ACTIONS = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
}
"""Operations whose IAM action has another name: the message names what to grant."""


class AwsCallError(RuntimeError):
    """An AWS call failed for a reason retries cannot fix; the message names service action and code."""


def describe_failure(
    error: ClientError | BotoCoreError | S3UploadFailedError, service: str, resource: str = ""
) -> AwsCallError:
    if isinstance(error, S3UploadFailedError):
        # boto3's managed upload hides the ClientError; its text holds the code in parentheses.
        found = re.search(r"\((\w+)\)", str(error))
        return AwsCallError(
            f"s3:PutObject on {resource} failed with {found.group(1) if found else 'an error'}: {error}"
        )
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        # A HEAD request has no body, so S3 denies it with a bare HTTP 403.
        code = "AccessDenied" if code == "403" else code
        message = error.response.get("Error", {}).get("Message", "")
        action = IAM_ACTIONS.get((service, error.operation_name), f"{service}:{error.operation_name}")
        where = f" on {resource}" if resource else ""
        return AwsCallError(f"{action}{where} failed with {code}: {message}".rstrip(": "))
    return AwsCallError(f"{service} call{' on ' + resource if resource else ''} failed: {error}")


@contextmanager
def aws_call(service: str, resource: str = "") -> Iterator[None]:
    """Around one or more calls of ``service``: a failure retries could not cure leaves as an
    :class:`AwsCallError` naming the IAM action, the resource and the error code. Handle the codes
    that mean something (a missing key, a vanished repository) inside the block."""
    try:
        yield
    except (ClientError, BotoCoreError, S3UploadFailedError) as error:
        raise describe_failure(error, service, resource) from error


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
