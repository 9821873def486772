"""Reads the registry's ``BLOB_MOUNTING`` account setting (``ecr:GetAccountSetting``).

Optional: the setting only changes the basis the registries_summary prices a registry on. A denied
call, or a name the region does not know yet, leaves it empty with one warning naming the call, and
the registry is priced as the sum of its repositories.
"""

from __future__ import annotations

import logging
from typing import Any

from ecr_provider.aws.errors import AwsCallError, aws_call
from ecr_provider.core.registries import BLOB_MOUNTING_VALUES
from ecr_provider.core.repeated_causes import warn_registry

log = logging.getLogger(__name__)

BLOB_MOUNTING = "BLOB_MOUNTING"


def read_blob_mounting(ecr_client: Any, label: str) -> str:
    """``ENABLED`` or ``DISABLED``; empty when it cannot be read or is neither."""
    try:
        with aws_call("ecr"):
            value = str(ecr_client.get_account_setting(name=BLOB_MOUNTING).get("value", ""))
    except AwsCallError as error:
        account, _, region = label.partition("/")
        warn_registry(
            log,
            label,
            f"Registry {label}: blob mounting unknown, priced per repository: {error}",
            {"account": account, "region": region},
        )
        return ""
    if value not in BLOB_MOUNTING_VALUES:
        log.warning(
            "Registry %s: blob mounting %r is not one this report knows, priced per repository", label, value
        )
        return ""
    return value
