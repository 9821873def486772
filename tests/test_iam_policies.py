"""The IAM policy files name real actions, no wildcard, and the docs' IAM page lists them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests.conftest import REPO_ROOT

IAM = REPO_ROOT / "iam"
POLICY = IAM / "ecr-report-policy.json"
POLICY_FILES = sorted(IAM.rglob("*.json"))

NOT_AN_OPERATION = {"s3:ListBucket": "ListObjectsV2"}
"""IAM actions named after no API operation, and the operation each authorises here. Actions that
share a name with an operation but authorise others too need no entry: s3:GetObject also authorises
HeadObject, s3:PutObject the multipart upload calls, s3:DeleteObject the DeleteObjects batch."""


def statement_values(statement: dict[str, Any], element: str) -> list[str]:
    value = statement.get(element, [])
    return [value] if isinstance(value, str) else list(value)


def actions_of(path: Path) -> list[str]:
    document = json.loads(path.read_text())
    return [action for statement in document["Statement"] for action in statement_values(statement, "Action")]


@cache
def operations_of(service: str) -> frozenset[str]:
    """The botocore service model's operations; the IAM prefixes used here are botocore's names."""
    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


def test_every_policy_file_is_found() -> None:
    assert POLICY in POLICY_FILES
    assert len(POLICY_FILES) > 1


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda path: str(path.relative_to(IAM)))
def test_every_action_is_an_operation_of_its_service(path: Path) -> None:
    actions = actions_of(path)
    assert actions
    unknown = []
    for action in actions:
        service, _, name = action.partition(":")
        if NOT_AN_OPERATION.get(action, name) not in operations_of(service):
            unknown.append(action)
    assert unknown == []


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda path: str(path.relative_to(IAM)))
def test_no_wildcard_action_and_each_action_once(path: Path) -> None:
    actions = actions_of(path)
    assert [action for action in actions if "*" in action] == []
    assert len(actions) == len(set(actions))


def test_the_operation_of_each_exception_exists() -> None:
    for action, operation in NOT_AN_OPERATION.items():
        assert operation in operations_of(action.partition(":")[0])


REGISTRY_LEVEL_ACTIONS = {"ecr:GetRegistryScanningConfiguration", "ecr:GetAccountSetting"}
"""Actions IAM authorises on no resource type: they can only be granted on ``*``."""


def test_every_statement_of_the_default_policy_is_scoped_to_resources() -> None:
    document = json.loads(POLICY.read_text())
    for statement in document["Statement"]:
        if "*" in statement_values(statement, "Resource"):
            assert set(statement_values(statement, "Action")) <= REGISTRY_LEVEL_ACTIONS, statement


def test_the_iam_page_lists_every_action_and_file() -> None:
    section = (REPO_ROOT / "docs" / "iam.md").read_text()
    for path in POLICY_FILES:
        assert str(path.relative_to(REPO_ROOT)) in section
        for action in actions_of(path):
            assert f"`{action}`" in section, action
