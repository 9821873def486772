"""The BLOB_MOUNTING read: a call the real API accepts (the Stubber checks it against botocore's
model), and a setting that cannot be read degrades to empty with one warning naming the call."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_provider.aws.account_settings import BLOB_MOUNTING, read_blob_mounting


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    ecr = boto3.client("ecr", region_name="eu-west-1")
    with Stubber(ecr) as stubber:
        yield ecr, stubber
        stubber.assert_no_pending_responses()


def test_botocore_documents_blob_mounting_as_a_setting_name() -> None:
    operation = boto3.client("ecr", region_name="eu-west-1").meta.service_model.operation_model(
        "GetAccountSetting"
    )
    assert "BLOB_MOUNTING" in operation.input_shape.members["name"].documentation


@pytest.mark.parametrize("value", ["ENABLED", "DISABLED"])
def test_the_setting_is_read_as_ecr_answers_it(stubbed: tuple[Any, Stubber], value: str) -> None:
    ecr, stubber = stubbed
    stubber.add_response(
        "get_account_setting", {"name": BLOB_MOUNTING, "value": value}, {"name": BLOB_MOUNTING}
    )

    assert read_blob_mounting(ecr, "111122223333/eu-west-1") == value


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 400), ("ValidationException", 400), ("ServerException", 500)],
)
def test_a_setting_that_cannot_be_read_is_empty_with_one_warning_naming_the_call(
    stubbed: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture, code: str, status: int
) -> None:
    ecr, stubber = stubbed
    stubber.add_client_error(
        "get_account_setting", code, "no", status, expected_params={"name": BLOB_MOUNTING}
    )

    with caplog.at_level(logging.WARNING):
        assert read_blob_mounting(ecr, "111122223333/eu-west-1") == ""

    [warning] = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert f"ecr:GetAccountSetting failed with {code}" in warning
    assert "111122223333/eu-west-1" in warning


def test_a_value_this_report_does_not_know_is_empty_with_one_warning(
    stubbed: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    ecr, stubber = stubbed
    stubber.add_response(
        "get_account_setting", {"name": BLOB_MOUNTING, "value": "PARTIAL"}, {"name": BLOB_MOUNTING}
    )

    with caplog.at_level(logging.WARNING):
        assert read_blob_mounting(ecr, "111122223333/eu-west-1") == ""

    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "'PARTIAL'" in caplog.records[0].getMessage()
