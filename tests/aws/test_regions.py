"""Region names are checked against botocore's ECR endpoint data, before any AWS call."""

from __future__ import annotations

import boto3
import pytest

from ecr_provider.aws.regions import ecr_regions, ecr_regions_of
from ecr_provider.core.settings import check_regions, check_settings


def test_known_regions_cover_every_partition() -> None:
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= ecr_regions()


@pytest.mark.parametrize("region", ["xx-nowhere-1", "eu-west-9", "us-east-3"])
def test_a_well_formed_but_unknown_region_is_rejected(region: str) -> None:
    with pytest.raises(ValueError, match=repr(region)):
        check_regions(["us-east-1", region], ecr_regions())
    with pytest.raises(ValueError, match=repr(region)):
        check_settings({"report_bucket": "reports", "regions": [region]}, ecr_regions())


def test_known_regions_pass_in_order_without_duplicates() -> None:
    assert check_regions(["eu-west-1", "us-east-1", "eu-west-1"], ecr_regions()) == ("eu-west-1", "us-east-1")


def test_a_sessions_regions_are_those_of_a_session_of_its_own() -> None:
    assert ecr_regions_of(boto3.session.Session(region_name="eu-west-1")) == ecr_regions()
