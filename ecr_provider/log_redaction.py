"""No credential reaches a log, whatever the level: at DEBUG botocore logs each signed request (the
session token in its headers and canonical request, its signature, an AssumeRole's ExternalId in its
parameters) and each response body, an AssumeRole one with the role's secret key and token; urllib3
logs request paths, presigned query strings included; and Airflow's in-process supervisor (``airflow
dags test``, ``dag.test()``) logs each message a task sends it, the values a task asks it to mask
(connection secrets) among them, before it masks them.

Airflow masks the secrets of its connections, not the credentials an assumed role returns, and the
CLI has no masker at all, so the provider filters the records of those loggers itself, and Airflow's
structlog events once Airflow has configured structlog: :func:`install` runs when the provider's hooks
are imported and when the CLI starts.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

REDACTED = "***"
SENSITIVE_LOGGERS = (
    "botocore.auth",
    "botocore.awsrequest",
    "botocore.credentials",
    "botocore.endpoint",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.retryhandler",
    "botocore.utils",
    "s3transfer",
    "urllib3.connectionpool",
)
"""The loggers that log requests, responses or credentials; their records are created by these loggers
themselves, and a filter only sees the records of the logger it is attached to."""
_LIBRARIES = ("botocore", "boto3", "s3transfer", "urllib3")
_SECRETS = (
    # X-Amz-Security-Token as a header ('X-Amz-Security-Token': b'...'), canonical header or query.
    re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,&}]+"),
    # Presigned URL parameters and the Authorization header's credential scope and signature.
    re.compile(r"(?i)(x-amz-(?:signature|credential)=)[^&\s'\"]+"),
    re.compile(r"(?i)(\bSignature[=:]\s*)[0-9a-f]{64}"),
    # Credentials in response bodies (STS XML, SSO and container JSON) and in key=value text.
    re.compile(r"(<(?:SecretAccessKey|SessionToken)>)[^<]*"),
    re.compile(r"(?i)((?:secret_?access_?key|session_?token)['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}<]+"),
    # An AssumeRole ExternalId, in the request parameters botocore logs (a dict) or its form body; it
    # may hold ',', '=' and '/', so a quoted one is redacted to its closing quote.
    re.compile(r"(?i)(\bExternalId['\"]?\s*:\s*b?(['\"]))(?:(?!\2).)*"),
    re.compile(r"(?i)(\bExternalId=)[^&\s'\"]+"),
    # What a task asks Airflow's masker to mask, which Airflow's in-process supervisor (``dags test``,
    # ``dag.test()``) logs at DEBUG as it passes the request on: the whole value, to the last field.
    re.compile(r"(MaskSecret\(value=).*(?=, name=)"),
)
_installed: set[str] = set()
_lock = threading.Lock()


def redact(text: str) -> str:
    """``text`` with every credential value replaced by ``***``, the names around it kept."""
    for secret in _SECRETS:
        text = secret.sub(rf"\g<1>{REDACTED}", text)
    return text


class CredentialRedactingFilter(logging.Filter):
    """Rewrites a record's message, arguments merged, when it holds a credential; passes every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


FILTER = CredentialRedactingFilter()
MASK_REQUEST = "MaskSecret"
"""The type of the message a task sends Airflow's supervisor to mask a value: it carries the value."""


def redact_event(
    logger: object, method_name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: a mask request logged by Airflow's in-process supervisor, and any text
    that holds a credential, redacted before Airflow renders the line."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
        elif type(value).__name__ == MASK_REQUEST:
            event[key] = redact(repr(value))
    return event


def install() -> None:
    """Attach the filter to :data:`SENSITIVE_LOGGERS` and to every botocore, boto3, s3transfer and
    urllib3 logger that exists by now, and :func:`redact_event` first to Airflow's structlog chain
    once Airflow has configured it; safe to call any number of times."""
    existing = [
        name for name in list(logging.Logger.manager.loggerDict) if name.partition(".")[0] in _LIBRARIES
    ]
    with _lock:
        for name in {*SENSITIVE_LOGGERS, *existing} - _installed:
            logging.getLogger(name).addFilter(FILTER)
            _installed.add(name)
        structlog = sys.modules.get("structlog")
        if structlog is None:  # not imported, so not configured: the CLI spares its import
            return
        processors = structlog.get_config()["processors"]
        if structlog.is_configured() and redact_event not in processors:
            structlog.configure(processors=[redact_event, *processors])
