"""The manifest-read decision: read_manifests against the reporter's pull-time exclusion, and the
reporter's IAM ARN behind its caller identity."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_provider.core.manifest_policy import principal_arn_of, should_read_manifests

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-report"
PATH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/platform/reporting/ecr-report"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ecr-report/airflow-worker-1"


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", f"arn:aws:iam::{ACCOUNT}:user/ops/alice"),
        (SESSION, ROLE),
        (
            f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com",
            f"arn:aws-cn:iam::{ACCOUNT}:role/AWSReservedSSO_Admin_0123456789abcdef",
        ),
        (f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:root"),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", f"arn:aws:sts::{ACCOUNT}:federated-user/bob"),
    ],
)
def test_principal_arn_of(caller: str, principal: str) -> None:
    assert principal_arn_of(caller) == principal


# -- decision --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "excluded", "read", "warn"),
    [
        ("if-excluded", True, True, False),
        ("if-excluded", False, False, True),
        ("always", True, True, False),
        ("always", False, True, True),
        ("never", True, False, False),
        ("never", False, False, False),
    ],
)
def test_should_read_manifests(mode: Any, excluded: bool, read: bool, warn: bool) -> None:
    decision = should_read_manifests(mode, excluded, principal_arn=ROLE, region=REGION)
    assert (decision.read, decision.warn) == (read, warn)


def test_the_warning_says_how_to_register_the_exclusion() -> None:
    decision = should_read_manifests("if-excluded", False, principal_arn=ROLE, region=REGION)
    assert (
        f"aws ecr register-pull-time-update-exclusion --principal-arn {ROLE} --region {REGION}"
        in decision.reason
    )
    assert "aws iam get-role --role-name ecr-report --query Role.Arn" in decision.reason
    assert "read_manifests=always" in decision.reason

    with_path = should_read_manifests("if-excluded", False, principal_arn=PATH_ROLE, region=REGION).reason
    assert f"--principal-arn {PATH_ROLE} --region {REGION}" in with_path
    assert "get-role" not in with_path

    root = should_read_manifests(
        "if-excluded", False, principal_arn=f"arn:aws:iam::{ACCOUNT}:root", region=REGION
    )
    assert "Only IAM roles and users can be excluded" in root.reason
    assert "register-pull-time-update-exclusion" not in root.reason


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="read_manifests 'sometimes'"):
        should_read_manifests("sometimes", True, principal_arn=ROLE, region=REGION)  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "read"), [("if-excluded", False), ("always", True)])
def test_an_unchecked_exclusion_is_not_excluded_and_names_the_call(mode: Any, read: bool) -> None:
    failure = "ecr:ListPullTimeUpdateExclusions failed with UnknownOperationException"
    decision = should_read_manifests(mode, True, principal_arn=ROLE, region=REGION, unchecked=failure)
    assert (decision.read, decision.warn) == (read, True)
    assert f"could not be checked ({failure})" in decision.reason


def test_never_reads_whatever_the_check_said() -> None:
    decision = should_read_manifests("never", False, principal_arn="", region=REGION, unchecked="any")
    assert decision == (False, "read_manifests=never: storage is reported from image sizes", False)
