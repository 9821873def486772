"""Who a policy lets pull, and the reason that keeps an image whose use the run could not see."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_provider.core.usage import UnseenEks
from ecr_provider.core.visibility import (
    ALL_VISIBLE,
    NO_POLICY,
    Grants,
    PolicyRead,
    RegistryVisibility,
    pull_grants,
)

OWN = "111122223333"
OTHER = "444455556666"
THIRD = "777788889999"
REPOSITORY = f"arn:aws:ecr:eu-west-1:{OWN}:repository/web"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any = "ecr:BatchGetImage", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **more}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Grants()),
        (policy(allow({"AWS": f"arn:aws:iam::{OTHER}:root"})), Grants(accounts=frozenset({OTHER}))),
        (
            policy(allow({"AWS": [OTHER, f"arn:aws:iam::{THIRD}:role/deployer"]}, ["ecr:*"])),
            Grants(accounts=frozenset({OTHER, THIRD})),
        ),
        (policy(allow("*")), Grants(anyone=True)),
        (policy(allow({"AWS": "*"}, "*")), Grants(anyone=True)),
        (
            policy(allow("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})),
            Grants(organisations=frozenset({"o-abc123"})),
        ),
        (
            policy(
                allow(
                    "*",
                    Condition={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-abc123/r-ab12/ou-*"]}},
                )
            ),
            Grants(organisations=frozenset({"o-abc123"})),
        ),
        (
            policy(allow({"AWS": "*"}, Condition={"StringEquals": {"aws:PrincipalAccount": OTHER}})),
            Grants(accounts=frozenset({OTHER})),
        ),
        (policy(allow({"AWS": OTHER}, "ecr:PutImage")), Grants()),
        (policy(allow({"AWS": OTHER}, "ecr:Batch*")), Grants(accounts=frozenset({OTHER}))),
        (policy({"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}), Grants()),
        (policy(allow({"Service": "lambda.amazonaws.com"})), Grants()),
        (
            policy({"Effect": "Allow", "NotPrincipal": {"AWS": OWN}, "Action": "ecr:BatchGetImage"}),
            Grants(anyone=True),
        ),
        (
            policy({"Effect": "Allow", "Principal": {"AWS": OTHER}, "NotAction": "ecr:PutImage"}),
            Grants(accounts=frozenset({OTHER})),
        ),
        (
            policy({"Effect": "Allow", "Principal": {"AWS": OTHER}, "NotAction": "ecr:Batch*"}),
            Grants(),
        ),
        ("not json", Grants(anyone=True)),
    ],
)
def test_who_a_policy_lets_pull(text: str | None, expected: Grants) -> None:
    assert pull_grants(text) == expected


def test_a_registry_policy_statement_applies_to_the_repositories_its_resource_matches() -> None:
    text = policy(allow({"AWS": OTHER}, Resource=f"arn:aws:ecr:eu-west-1:{OWN}:repository/shared/*"))
    assert pull_grants(text, f"arn:aws:ecr:eu-west-1:{OWN}:repository/shared/base") == Grants(
        accounts=frozenset({OTHER})
    )
    assert pull_grants(text, REPOSITORY) == Grants()


def visibility(**fields: Any) -> RegistryVisibility:
    return RegistryVisibility(frozenset({OWN}), **fields)


@pytest.mark.parametrize(
    ("registry", "repository", "expected"),
    [
        (visibility(), None, ""),
        (visibility(), PolicyRead(policy(allow({"AWS": OWN})), ""), ""),
        (
            visibility(),
            PolicyRead(policy(allow({"AWS": [OTHER, THIRD, OWN]}))),
            f"use from accounts {OTHER}, {THIRD} is not visible",
        ),
        (
            visibility(registry_policy=PolicyRead(policy(allow("*")))),
            PolicyRead(policy(allow({"AWS": OTHER}))),
            "use from any principal is not visible",
        ),
        (
            visibility(),
            PolicyRead(
                policy(
                    allow({"AWS": OTHER}),
                    allow("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}),
                )
            ),
            f"use from account {OTHER} and the organisation o-abc123 is not visible",
        ),
        (
            RegistryVisibility(frozenset({OWN, OTHER}), frozenset({"o-abc123"})),
            PolicyRead(
                policy(
                    allow("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}),
                    allow({"AWS": OTHER}),
                )
            ),
            "",
        ),
        (
            visibility(
                unseen_eks=(UnseenEks(OWN, "eu-west-1", "prod"), UnseenEks(OWN, "eu-west-1", "tools"))
            ),
            NO_POLICY,
            "use from EKS clusters prod, tools (pods not read) is not visible",
        ),
        (
            visibility(unseen_eks=(UnseenEks(OWN, "eu-west-1"),)),
            PolicyRead(None, "ecr:GetRepositoryPolicy"),
            "use from what eks:ListClusters, ecr:GetRepositoryPolicy would show (denied) is not visible",
        ),
        # The registry's account pulls from every region; another account only where a policy lets it.
        (
            RegistryVisibility(
                frozenset({OWN, OTHER, THIRD}),
                unseen_eks=(
                    UnseenEks(OWN, "us-east-1", "batch"),
                    UnseenEks(OTHER, "eu-west-1", "apps"),
                    UnseenEks(THIRD, "eu-west-1", "edge"),
                    UnseenEks(OTHER, "us-east-1"),
                ),
            ),
            PolicyRead(policy(allow({"AWS": OTHER}))),
            f"use from EKS clusters {OWN}/us-east-1/batch, {OTHER}/eu-west-1/apps (pods not read) and what "
            f"eks:ListClusters in {OTHER}/us-east-1 would show (denied) is not visible",
        ),
        (
            RegistryVisibility(frozenset({OWN, THIRD}), unseen_eks=(UnseenEks(THIRD, "eu-west-1", "edge"),)),
            NO_POLICY,
            "",
        ),
    ],
)
def test_what_is_not_visible_names_every_unread_account_organisation_cluster_and_refused_call(
    registry: RegistryVisibility, repository: PolicyRead | None, expected: str
) -> None:
    assert registry.not_visible(REPOSITORY, repository) == expected


def test_with_nothing_known_all_use_is_visible() -> None:
    assert ALL_VISIBLE.not_visible(REPOSITORY, None) == ""
