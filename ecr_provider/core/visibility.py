"""Whose use of a registry the run could not see: then no image is ``reclaimable`` on usage grounds.

Usage is read in the accounts the run reads (``read_accounts``: the registry's own by default). A
repository policy, or the registry's policy, may let others pull: another account, the whole
organisation (``aws:PrincipalOrgID``, ``aws:PrincipalOrgPaths``) or any principal (``*``). Their
workloads were not read, so an image nobody was seen running may still run there. Likewise an EKS
cluster whose pods the run could not read (``UnseenEks``), in the registry's own account or in one its
policies let pull, may run any of its images (in the registry's own account and region, Inspector
enhanced scanning's in-use count covers them; then they are not passed here).

The policy reading is deliberately generous, as a wrong ``reclaimable`` costs more than a wrong
``keep``: every ``Allow`` statement whose actions cover a pull (``ecr:BatchGetImage``, wildcards
included, or any ``NotAction`` that spares it) counts; ``Deny`` statements and conditions other than
the organisation and ``aws:PrincipalAccount`` ones are not weighed; a ``NotPrincipal`` counts as any
principal; service principals (``lambda.amazonaws.com``) act for the accounts a statement names
beside them and are not counted themselves. A registry policy statement applies to the repositories
its ``Resource`` globs match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ecr_provider.core.usage import Registry, UnseenEks

PULL_ACTION = "ecr:batchgetimage"
"""The call every pull makes (the manifest); without it nothing can be pulled."""
NOT_VISIBLE_PREFIX = "use from "
_ACCOUNT = re.compile(r"^(?:arn:aws[\w-]*:(?:iam|sts)::)?(?P<account>\d{12})(?::|$)")
_ORG_KEYS = ("aws:principalorgid", "aws:principalorgpaths")
_ACCOUNT_KEY = "aws:principalaccount"


@dataclass(frozen=True, slots=True)
class Grants:
    """Who a policy lets pull, beyond service principals."""

    accounts: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()
    anyone: bool = False

    def __or__(self, other: Grants) -> Grants:
        return Grants(
            self.accounts | other.accounts,
            self.organisations | other.organisations,
            self.anyone or other.anyone,
        )


NO_GRANTS = Grants()


@dataclass(frozen=True, slots=True)
class PolicyRead:
    """A policy as read: its text (None: the resource has none), or the call that was refused, which
    leaves who may pull unknown."""

    text: str | None
    denied: str = ""


NO_POLICY = PolicyRead(None)


def pull_grants(policy_text: str | None, resource_arn: str = "") -> Grants:
    """Who ``policy_text`` lets pull ``resource_arn`` (every resource when empty)."""
    if not policy_text:
        return NO_GRANTS
    try:
        document = json.loads(policy_text)
    except ValueError:
        return Grants(anyone=True)
    statements = document.get("Statement", ()) if isinstance(document, dict) else ()
    grants = NO_GRANTS
    for statement in [statements] if isinstance(statements, dict) else statements:
        if _allows_pull(statement, resource_arn):
            grants |= _statement_grants(statement)
    return grants


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _allows_pull(statement: Mapping[str, Any], resource_arn: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        covers = not any(fnmatchcase(PULL_ACTION, a.lower()) for a in _listed(statement["NotAction"]))
    else:
        covers = any(fnmatchcase(PULL_ACTION, a.lower()) for a in _listed(statement.get("Action")))
    resources = _listed(statement.get("Resource")) or ["*"]
    return covers and (not resource_arn or any(fnmatchcase(resource_arn, r) for r in resources))


def _statement_grants(statement: Mapping[str, Any]) -> Grants:
    if "NotPrincipal" in statement:
        return Grants(anyone=True)
    principal = statement.get("Principal", {})
    named = principal.get("AWS") if isinstance(principal, dict) else None
    aws = ["*"] if principal == "*" else _listed(named)
    accounts = {found["account"] for name in aws if (found := _ACCOUNT.match(name))}
    if "*" not in aws:
        return Grants(accounts=frozenset(accounts))
    conditions = _condition_values(statement.get("Condition", {}))
    organisations = {path.split("/", 1)[0] for key in _ORG_KEYS for path in conditions.get(key, ())}
    limited = {found["account"] for a in conditions.get(_ACCOUNT_KEY, ()) if (found := _ACCOUNT.match(a))}
    if organisations or limited:
        return Grants(accounts=frozenset(accounts | limited), organisations=frozenset(organisations))
    return Grants(anyone=True)


def _condition_values(condition: Any) -> dict[str, list[str]]:
    """Condition keys (lower case) to their values, whatever the operator."""
    values: dict[str, list[str]] = {}
    if not isinstance(condition, dict):
        return values
    for tests in condition.values():
        if isinstance(tests, dict):
            for key, value in tests.items():
                values.setdefault(str(key).lower(), []).extend(_listed(value))
    return values


@dataclass(frozen=True, slots=True)
class RegistryVisibility:
    """What a registry's report knows of where its images may run unseen.

    ``read_accounts`` are the accounts whose workloads the run read; ``read_organisations`` the
    organisations all of whose accounts it read. ``unseen_eks`` are the run's EKS clusters whose pods
    were not read (and refused cluster listings); those of the registry's account, or of an account
    its policies let pull, count.
    """

    read_accounts: frozenset[str]
    read_organisations: frozenset[str] = frozenset()
    registry_policy: PolicyRead = NO_POLICY
    unseen_eks: tuple[UnseenEks, ...] = ()

    def not_visible(self, repository_arn: str, repository_policy: PolicyRead | None) -> str:
        """Why use of the repository's images may be unseen, for ``cleanupReason``; empty when all of
        it was read. ``repository_policy`` None: not read, as no verdict depended on it."""
        own = repository_policy or NO_POLICY
        grants = pull_grants(self.registry_policy.text, repository_arn) | pull_grants(own.text)
        parts = _grant_parts(grants, self.read_accounts, self.read_organisations)
        registry = _registry_of(repository_arn)
        unseen = [u for u in self.unseen_eks if u.account_id in {registry[0], *grants.accounts}]
        clusters = [u.named_from(registry) for u in unseen if u.cluster]
        if clusters:
            parts.append(f"EKS {_plural('cluster', clusters)} (pods not read)")
        denied = [
            *(u.listing_from(registry) for u in unseen if not u.cluster),
            *(p.denied for p in (self.registry_policy, own) if p.denied),
        ]
        if denied:
            parts.append(f"what {', '.join(denied)} would show (denied)")
        return f"{NOT_VISIBLE_PREFIX}{' and '.join(parts)} is not visible" if parts else ""


def _registry_of(repository_arn: str) -> Registry:
    """``arn:aws:ecr:REGION:ACCOUNT:repository/NAME`` to (ACCOUNT, REGION)."""
    fields = repository_arn.split(":", 5)
    return (fields[4], fields[3]) if len(fields) == 6 else ("", "")


def _grant_parts(
    grants: Grants, read_accounts: Collection[str], read_organisations: Collection[str]
) -> list[str]:
    if grants.anyone:
        return ["any principal"]
    parts = []
    accounts = sorted(grants.accounts - set(read_accounts))
    if accounts:
        parts.append(_plural("account", accounts))
    organisations = sorted(grants.organisations - set(read_organisations))
    if organisations:
        parts.append(f"the {_plural('organisation', organisations)}")
    return parts


def _plural(noun: str, names: Iterable[str]) -> str:
    listed = list(names)
    return f"{noun}{'s' if len(listed) > 1 else ''} {', '.join(listed)}"


ALL_VISIBLE = RegistryVisibility(frozenset())
"""No policy and no EKS cluster known: whatever use there is, the usage read sees."""
