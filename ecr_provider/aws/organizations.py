"""Accounts of an AWS Organization, for runs that report every member account."""

from __future__ import annotations

from typing import Any

from ecr_provider.aws.errors import aws_call


def active_account_ids(organizations: Any) -> list[str]:
    """ACTIVE member accounts (suspended ones have no registry to read), in id order."""
    with aws_call("organizations"):
        pages = organizations.get_paginator("list_accounts").paginate()
        return sorted(
            account["Id"]
            for page in pages
            for account in page["Accounts"]
            if account.get("Status") == "ACTIVE"
        )
