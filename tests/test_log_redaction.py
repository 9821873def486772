"""Credentials are cut out of the records of botocore, s3transfer and urllib3 at any level."""

from __future__ import annotations

import logging

import pytest

from ecr_provider import log_redaction
from ecr_provider.log_redaction import redact

TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+secret/token=="
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SIGNATURE = "69a5d92fb4830cb9579266c6a2b2d3db145a0beaab461ff2725cc1d8c6474b35"
EXTERNAL_ID = "Partner,Id=With/Odd@Characters-42"


@pytest.mark.parametrize(
    ("logged", "kept"),
    [
        (  # botocore.endpoint: the prepared request's headers
            f"headers={{'X-Amz-Date': b'20261201T110441Z', 'X-Amz-Security-Token': b'{TOKEN}', "
            "'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261201/us-east-1/sts/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={SIGNATURE}'}}",
            "'X-Amz-Security-Token': b'***'",
        ),
        (
            f"CanonicalRequest:\nPOST\n/\n\nhost:sts\nx-amz-security-token:{TOKEN}\n",
            "x-amz-security-token:***",
        ),
        (f"Signature:\n{SIGNATURE}", "Signature:\n***"),
        (  # urllib3: a presigned URL
            f'"GET /bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261201'
            f'&X-Amz-Security-Token={TOKEN}&X-Amz-Signature={SIGNATURE} HTTP/1.1" 200 5',
            "X-Amz-Signature=***",
        ),
        (  # botocore.parsers: an AssumeRole response body
            f"b'<AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>{SECRET}"
            f"</SecretAccessKey><SessionToken>{TOKEN}</SessionToken></Credentials></AssumeRoleResult>'",
            "<SecretAccessKey>***</SecretAccessKey><SessionToken>***</SessionToken>",
        ),
        (  # SSO and container credentials, and key=value text
            f'{{"roleCredentials": {{"secretAccessKey": "{SECRET}", "sessionToken": "{TOKEN}"}}}}',
            '"secretAccessKey": "***", "sessionToken": "***"',
        ),
        (f"aws_secret_access_key={SECRET} aws_session_token={TOKEN}", "aws_secret_access_key=***"),
        (  # botocore.endpoint: the parameters of an AssumeRole request
            "Making request for OperationModel(name=AssumeRole) with params: {'body': {'Action': "
            f"'AssumeRole', 'RoleArn': 'arn:aws:iam::1:role/r', 'ExternalId': '{EXTERNAL_ID}'}}}}",
            "'ExternalId': '***'}}",
        ),
        (
            f"Action=AssumeRole&ExternalId={EXTERNAL_ID.replace(',', '%2C')}&Version=2011-06-15",
            "ExternalId=***&",
        ),
        (f'{{"assume_role_kwargs": {{"ExternalId": "{EXTERNAL_ID}"}}}}', '"ExternalId": "***"}'),
        (  # Airflow's in-process supervisor passing a task's mask request on (``dags test``, ``dag.test()``)
            f"Sending request msg=MaskSecret(value={{'aws_session_token': '{TOKEN}', 'password': '{SECRET}', "
            "'name': 'x'}, name=None, type='MaskSecret')",
            "msg=MaskSecret(value=***, name=None, type='MaskSecret')",
        ),
    ],
    ids=[
        "headers",
        "canonical-request",
        "signature",
        "presigned-url",
        "sts-xml",
        "json",
        "key-value",
        "external-id-params",
        "external-id-form",
        "external-id-json",
        "mask-request",
    ],
)
def test_credentials_are_cut_and_what_names_them_kept(logged: str, kept: str) -> None:
    redacted = redact(logged)
    assert kept in redacted
    assert TOKEN not in redacted
    assert SECRET not in redacted
    assert SIGNATURE not in redacted
    assert EXTERNAL_ID.replace(",", "%2C") not in redacted
    assert EXTERNAL_ID.split(",")[1] not in redacted


def test_a_mask_request_logged_through_structlog_is_redacted() -> None:
    from airflow.sdk.execution_time.comms import MaskSecret

    event = log_redaction.redact_event(
        None, "debug", {"event": "Sending request", "msg": MaskSecret(value={"password": SECRET})}
    )

    assert event == {"event": "Sending request", "msg": "MaskSecret(value=***, name=None, type='MaskSecret')"}


def test_install_puts_the_structlog_processor_first_once() -> None:
    import structlog

    before = structlog.get_config()["processors"]
    try:
        structlog.configure(processors=[structlog.processors.KeyValueRenderer()])
        log_redaction.install()
        log_redaction.install()
        processors = structlog.get_config()["processors"]
        assert processors[0] is log_redaction.redact_event
        assert processors.count(log_redaction.redact_event) == 1
    finally:
        structlog.configure(processors=before)


def test_text_without_credentials_is_left_alone() -> None:
    text = "Response headers: {'x-amzn-requestid': 'abc', 'Content-Length': '0'}; 3 of 4 registries"
    assert redact(text) == text


def test_the_installed_filter_rewrites_botocore_records_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    log_redaction.install()
    log_redaction.install()  # idempotent: one filter per logger
    endpoint = logging.getLogger("botocore.endpoint")
    assert endpoint.filters.count(log_redaction.FILTER) == 1
    with caplog.at_level(logging.DEBUG, logger="botocore"):
        endpoint.debug("Sending http request: %s", {"X-Amz-Security-Token": TOKEN.encode()})
        logging.getLogger("botocore.parsers").debug(
            "Response body:\n%r", f"<SessionToken>{TOKEN}</SessionToken>"
        )
    assert TOKEN not in caplog.text
    assert [record.getMessage() for record in caplog.records] == [
        "Sending http request: {'X-Amz-Security-Token': b'***'}",
        "Response body:\n'<SessionToken>***</SessionToken>'",
    ]


def test_every_library_logger_that_exists_gets_the_filter() -> None:
    import boto3  # noqa: F401  (its loggers exist once imported)

    log_redaction.install()
    names = [
        name for name in logging.Logger.manager.loggerDict if name.partition(".")[0] in ("botocore", "boto3")
    ]
    assert names
    unfiltered = [name for name in names if log_redaction.FILTER not in logging.getLogger(name).filters]
    assert unfiltered == []
