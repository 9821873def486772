"""AWS failures turned into messages that name the denied action and the resource."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError


class AwsCallError(RuntimeError):
    """An AWS call failed for a reason retries cannot fix; the message names service action and code."""


def describe_failure(error: ClientError | BotoCoreError, service: str, resource: str = "") -> AwsCallError:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "")
        action = f"{service}:{error.operation_name}"
        where = f" on {resource}" if resource else ""
        return AwsCallError(f"{action}{where} failed with {code}: {message}".rstrip(": "))
    return AwsCallError(f"{service} call{' on ' + resource if resource else ''} failed: {error}")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
