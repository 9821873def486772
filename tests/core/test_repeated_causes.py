"""A warning whose cause repeats across a task's registries is logged once, with the count, the
registries and the fix written once; alone, or outside a task, it is logged as it comes."""

from __future__ import annotations

import logging

import pytest

from ecr_provider.core.repeated_causes import grouped_warnings, warn_registry

log = logging.getLogger("ecr_provider.tests.repeated")


def not_excluded(account: str, region: str) -> tuple[str, str, dict[str, str]]:
    principal = f"arn:aws:iam::{account}:role/ecr-report"
    message = (
        f"Storage in {region} is reported from image sizes: {principal} is not excluded. To fix: aws ecr "
        f"register-pull-time-update-exclusion --principal-arn {principal} --region {region}"
    )
    return f"{account}/{region}", message, {"principal": principal, "region": region}


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_a_cause_of_many_registries_is_logged_once_with_its_count_registries_and_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registries = [
        not_excluded(account, region) for account in ("111", "222") for region in ("eu-west-1", "us-east-1")
    ]
    with caplog.at_level(logging.INFO, logger=log.name), grouped_warnings():
        for registry, message, values in registries:
            warn_registry(log, registry, message, values)
        assert warnings(caplog) == []  # gathered until the task's registries are done

    assert warnings(caplog) == [
        "4 registries of this task (111/eu-west-1, 111/us-east-1, 222/eu-west-1, 222/us-east-1): "
        "Storage in <region> is reported from image sizes: <principal> is not excluded. To fix: aws ecr "
        "register-pull-time-update-exclusion --principal-arn <principal> --region <region>"
    ]


def test_a_cause_of_one_registry_keeps_its_own_words_and_different_causes_stay_apart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry, message, values = not_excluded("111", "eu-west-1")
    with caplog.at_level(logging.INFO, logger=log.name), grouped_warnings():
        warn_registry(log, registry, message, values)
        warn_registry(log, "222/us-east-1", "Registry 222/us-east-1: blob mounting unknown: denied", {})
        warn_registry(log, "333/us-east-1", "Registry 333/us-east-1: blob mounting unknown: denied", {})

    assert warnings(caplog) == [
        message,
        "2 registries of this task (222/us-east-1, 333/us-east-1): Registry <registry>: blob mounting "
        "unknown: denied",
    ]


def fail_in_task(registry: str, message: str, values: dict[str, str]) -> None:
    with grouped_warnings():
        warn_registry(log, registry, message, values)
        raise RuntimeError("the task failed")


def test_outside_a_task_and_when_the_task_fails_nothing_is_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry, message, values = not_excluded("111", "eu-west-1")
    with caplog.at_level(logging.INFO, logger=log.name):
        warn_registry(log, registry, message, values)
        assert warnings(caplog) == [message]
        with pytest.raises(RuntimeError, match="the task failed"):
            fail_in_task(registry, message, values)

    assert warnings(caplog) == [message, message]
