"""Which registries a run reads: accounts (role ARNs or ids + role name) x regions."""

from __future__ import annotations

import pytest

from ecr_provider.core.settings import check_settings
from ecr_provider.core.targets import RegistryTarget, check_accounts, plan_targets

ROLE_A = "arn:aws:iam::111111111111:role/ecr-report"
ROLE_B = "arn:aws:iam::222222222222:role/ecr-report"


def test_account_ids_are_completed_by_the_role_name_and_deduplicated() -> None:
    assert check_accounts(["111111111111", ROLE_A, "222222222222"], "ecr-report") == (ROLE_A, ROLE_B)


def test_every_account_in_every_region() -> None:
    targets = plan_targets([ROLE_A, ROLE_B], ["eu-west-1", "us-east-1"])
    assert [(t.account_id, t.region) for t in targets] == [
        ("111111111111", "eu-west-1"),
        ("111111111111", "us-east-1"),
        ("222222222222", "eu-west-1"),
        ("222222222222", "us-east-1"),
    ]
    assert targets[0].as_operator_kwargs() == {"region_name": "eu-west-1", "role_arn": ROLE_A}


def test_no_accounts_means_the_connection_s_own() -> None:
    assert plan_targets([], ["eu-west-1"]) == [RegistryTarget("eu-west-1", None)]
    assert RegistryTarget("eu-west-1").account_id is None


@pytest.mark.parametrize(
    ("accounts", "role_name", "named"),
    [
        (["11111111111"], "ecr-report", "'11111111111'"),
        (["111111111111"], "", "'111111111111'"),
        (["arn:aws:iam::111111111111:user/bob"], "", "'arn:aws:iam::111111111111:user/bob'"),
        ("111111111111", "ecr-report", "'111111111111'"),
    ],
)
def test_bad_accounts_are_named(accounts: object, role_name: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        check_accounts(accounts, role_name)


def test_settings_carry_targets_and_validate_discovery() -> None:
    settings = check_settings(
        {"report_bucket": "reports", "accounts": ["111111111111"], "role_name": "ecr-report"}
    )
    assert settings["accounts"] == [ROLE_A]
    with pytest.raises(ValueError, match="discover_accounts needs role_name"):
        check_settings({"report_bucket": "reports", "discover_accounts": True})
    with pytest.raises(ValueError, match="'yes'"):
        check_settings({"report_bucket": "reports", "discover_accounts": "yes"})
    with pytest.raises(ValueError, match="'bad role'"):
        check_settings({"report_bucket": "reports", "role_name": "bad role"})
