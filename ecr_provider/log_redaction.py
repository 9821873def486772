"""No credential reaches a log, whatever the level: at DEBUG botocore logs each signed request (the
session token in its headers and canonical request, its signature) and each response body, an
AssumeRole one with the role's secret key and token; urllib3 logs request paths, presigned query
strings included.

Airflow masks the secrets of its connections, not the credentials an assumed role returns, and the
CLI has no masker at all, so the provider filters the records of those loggers itself:
:func:`install` runs when the provider's hooks are imported and when the CLI starts.
"""

from __future__ import annotations

import logging
import re
import threading

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


def install() -> None:
    """Attach the filter to :data:`SENSITIVE_LOGGERS` and to every botocore, boto3, s3transfer and
    urllib3 logger that exists by now; safe to call any number of times."""
    existing = [
        name for name in list(logging.Logger.manager.loggerDict) if name.partition(".")[0] in _LIBRARIES
    ]
    with _lock:
        for name in {*SENSITIVE_LOGGERS, *existing} - _installed:
            logging.getLogger(name).addFilter(FILTER)
            _installed.add(name)
