"""The regions Amazon ECR is available in, from botocore's bundled endpoint data (no network call)."""

from __future__ import annotations

from functools import cache

import boto3


@cache
def ecr_regions() -> frozenset[str]:
    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ecr", partition_name=partition)
    )
