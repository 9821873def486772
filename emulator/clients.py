"""The emulator's account and boto3 clients bound to it, signing with moto's dummy keys.

A module of its own so the seeding modules (:mod:`emulator.demo_registry`, :mod:`emulator.demo_usage`)
and :mod:`emulator.server`, which seeds the demo registry from its command line, need not import each
other.
"""

from __future__ import annotations

from typing import Any

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID

ACCOUNT_ID = DEFAULT_ACCOUNT_ID
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}


def client(service: str, endpoint_url: str, region: str) -> Any:
    """A boto3 client bound to the emulator, independent of the environment's credentials."""
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **DUMMY_CREDENTIALS)


def account_client(service: str, endpoint_url: str, region: str, account_id: str) -> Any:
    """A client acting in ``account_id``: moto files what an assumed role's credentials do under the
    role's account, as AWS does."""
    if account_id == ACCOUNT_ID:
        return client(service, endpoint_url, region)
    role = f"arn:aws:iam::{account_id}:role/emulator-seeding"
    assumed = client("sts", endpoint_url, region).assume_role(RoleArn=role, RoleSessionName="seeding")
    credentials = assumed["Credentials"]
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
