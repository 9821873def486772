"""The registries one run reads: (account, region) pairs, an account reached through a role or directly."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,512}$")


class TargetParams(TypedDict):
    """One registry of the run, as the targets task hands it to a mapped report task."""

    region_name: str
    role_arn: str | None


@dataclass(frozen=True, slots=True)
class RegistryTarget:
    region: str
    role_arn: str | None = None

    @property
    def account_id(self) -> str | None:
        """Known from the role ARN; None means the connection's own account."""
        match = ROLE_ARN.match(self.role_arn or "")
        return match.group(1) if match else None

    @property
    def label(self) -> str:
        return registry_label(self.account_id, self.region)

    @classmethod
    def of(cls, params: TargetParams) -> RegistryTarget:
        return cls(params["region_name"], params["role_arn"])

    def as_operator_kwargs(self) -> TargetParams:
        """The registry as the run plan lists it, and its outcome record names it."""
        return TargetParams(region_name=self.region, role_arn=self.role_arn)


def registry_label(account_id: str | None, region: str) -> str:
    """How logs and errors name a registry; an account not known yet is the connection's own."""
    return f"{account_id or 'own account'}/{region}"


def check_role_name(role_name: object) -> str:
    if role_name in (None, ""):
        return ""
    if not isinstance(role_name, str) or not ROLE_NAME.match(role_name):
        raise ValueError(f"role_name {role_name!r} is not an IAM role name (letters, digits and +=,.@_-/)")
    return role_name


def role_arn(account: str, role_name: str, partition: str = "aws") -> str:
    """An account is given as a role ARN, or as an account id that ``role_name`` completes."""
    if ROLE_ARN.match(account):
        return account
    if not ACCOUNT_ID.match(account):
        raise ValueError(f"account {account!r} is neither an IAM role ARN nor a 12-digit account id")
    if not role_name:
        raise ValueError(f"account {account!r} is an account id, so role_name must name the role to assume")
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def check_accounts(accounts: object, role_name: str) -> tuple[str, ...]:
    if accounts in (None, ""):
        return ()
    if isinstance(accounts, str) or not isinstance(accounts, Sequence):
        raise ValueError(f"accounts must be a list of role ARNs or account ids, got {accounts!r}")
    return tuple(dict.fromkeys(role_arn(str(account), role_name) for account in accounts))


def plan_targets(role_arns: Sequence[str], regions: Sequence[str]) -> list[RegistryTarget]:
    """Every account in every region; no accounts means the connection's own account."""
    roles: Sequence[str | None] = role_arns or [None]
    return [RegistryTarget(region, role) for role in dict.fromkeys(roles) for region in regions]
