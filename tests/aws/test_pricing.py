"""Storage prices from the Price List Query API (botocore Stubber, real ``pricing`` model) and fallbacks.

The PriceList documents have the shape GetProducts returns (product, serviceCode, terms as JSON
strings). Usage types and the archive tiers follow the real ``AmazonECR`` price list; the eu-west-1
rates are made up (the real ones equal us-east-1's) so the test can tell the two regions apart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from ecr_provider.aws.pricing import PAGE_SIZE, read_storage_prices, resolve_storage_prices
from ecr_provider.core.price_table import DEFAULT_STANDARD, StoragePrices, fallback_prices

LOGGER = "ecr_provider.aws.pricing"
OFFER_TERM = "JRTCKXETXF"
RATE_CODE = "6YS6EN2CT7"
LOCATIONS = {"us-east-1": "US East (N. Virginia)", "eu-west-1": "EU (Ireland)"}


def price_item(
    sku: str,
    region: str,
    usage_type: str,
    family: str,
    tiers: list[tuple[str, str, str, str]],
) -> str:
    """One PriceList entry; ``tiers`` are (beginRange, endRange, unit, USD)."""
    dimensions = {
        f"{sku}.{OFFER_TERM}.{RATE_CODE}{index}": {
            "unit": unit,
            "endRange": end,
            "description": f"{usd} USD per {unit} for {usage_type}",
            "appliesTo": [],
            "rateCode": f"{sku}.{OFFER_TERM}.{RATE_CODE}{index}",
            "beginRange": begin,
            "pricePerUnit": {"USD": usd},
        }
        for index, (begin, end, unit, usd) in enumerate(tiers)
    }
    document = {
        "product": {
            "productFamily": family,
            "attributes": {
                "regionCode": region,
                "servicecode": "AmazonECR",
                "usagetype": usage_type,
                "locationType": "AWS Region",
                "location": LOCATIONS[region],
                "operation": "",
                "servicename": "Amazon EC2 Container Registry (ECR)",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonECR",
        "terms": {
            "OnDemand": {
                f"{sku}.{OFFER_TERM}": {
                    "priceDimensions": dimensions,
                    "sku": sku,
                    "effectiveDate": "2025-11-01T00:00:00Z",
                    "offerTermCode": OFFER_TERM,
                    "termAttributes": {},
                }
            }
        },
        "version": "20251120000000",
        "publicationDate": "2025-11-20T00:00:00Z",
    }
    return json.dumps(document)


def region_products(region: str, prefix: str, archive_prefix: str, rates: dict[str, str]) -> list[str]:
    """Data transfer, replication transfer and archive retrieval come first, storage last."""
    return [
        price_item(
            "DT1",
            region,
            f"{prefix}DataTransfer-Out-Bytes",
            "Data Transfer",
            [("0", "1", "GB", "0.0000000000"), ("1", "10240", "GB", "0.0900000000")],
        ),
        price_item(
            "REPL",
            region,
            f"{archive_prefix}EUW2-AWS-Out-Bytes",
            "Data Transfer",
            [("0", "Inf", "GB", "0.0200000000")],
        ),
        price_item(
            "RETR",
            region,
            f"{archive_prefix}Retrieval-Archive",
            "EC2 Container Registry",
            [("0", "Inf", "GB", "0.0300000000")],
        ),
        price_item(
            "STD",
            region,
            f"{prefix}TimedStorage-ByteHrs",
            "EC2 Container Registry",
            [("0", "Inf", "GB-Mo", rates["standard"])],
        ),
        price_item(
            "ARC",
            region,
            f"{archive_prefix}TimedStorage-Archive-ByteHrs",
            "EC2 Container Registry",
            [("0", "153600", "GB-Mo", rates["archive"]), ("153600", "Inf", "GB-Mo", rates["archive_above"])],
        ),
    ]


US_EAST_1 = region_products(
    "us-east-1", "", "USE1-", {"standard": "0.1000000000", "archive": "0.1000000000", "archive_above": "0.07"}
)
EU_WEST_1 = region_products(
    "eu-west-1",
    "EU-",
    "EU-",
    {"standard": "0.1100000000", "archive": "0.1050000000", "archive_above": "0.08"},
)


def params(region: str, next_token: str | None = None) -> dict[str, Any]:
    expected: dict[str, Any] = {
        "ServiceCode": "AmazonECR",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        "MaxResults": PAGE_SIZE,
    }
    if next_token is not None:
        expected["NextToken"] = next_token
    return expected


@pytest.fixture
def pricing() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def add_pages(stubber: Stubber, region: str, products: list[str]) -> None:
    """Two pages: the non-storage products, then the storage ones."""
    stubber.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": products[:3], "NextToken": f"{region}-page-2"},
        params(region),
    )
    stubber.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": products[3:]},
        params(region, f"{region}-page-2"),
    )


def test_storage_products_are_picked_among_several_over_two_pages(pricing):
    client, stubber = pricing
    add_pages(stubber, "us-east-1", US_EAST_1)
    add_pages(stubber, "eu-west-1", EU_WEST_1)

    us = read_storage_prices(client, "us-east-1")
    eu = read_storage_prices(client, "eu-west-1")

    # Standard: the single GB-Mo rate. Archive: the first tier (0 to 153,600 GB), not 0.07 / 0.08.
    assert us == StoragePrices(Decimal("0.10"), Decimal("0.10"), "pricing-api")
    assert eu == StoragePrices(Decimal("0.11"), Decimal("0.105"), "pricing-api")
    # 250 GB stored in eu-west-1 for a month: 250 x 0.11 = 27.50 USD; 40 GB archived: 40 x 0.105 = 4.20.
    assert eu.standard * 250 == Decimal("27.50")
    assert eu.archive_rate * 40 == Decimal("4.20")


def test_resolve_asks_each_region_once_and_then_uses_the_cache(pricing, caplog):
    client, stubber = pricing
    add_pages(stubber, "us-east-1", US_EAST_1)
    add_pages(stubber, "eu-west-1", EU_WEST_1)
    factory_calls: list[str] = []

    def factory() -> Any:
        factory_calls.append("pricing")
        return client

    cache: dict[str, StoragePrices] = {}
    caplog.set_level(logging.INFO, logger=LOGGER)
    first_us = resolve_storage_prices(factory, "us-east-1", None, cache)
    first_eu = resolve_storage_prices(factory, "eu-west-1", None, cache)
    stubber.assert_no_pending_responses()

    # Nothing is queued any more: a further GetProducts call would fail (and end in the fallback).
    assert resolve_storage_prices(factory, "us-east-1", None, cache) is first_us
    assert resolve_storage_prices(factory, "eu-west-1", None, cache) is first_eu
    assert factory_calls == ["pricing", "pricing"]
    assert first_eu.standard == Decimal("0.11")
    assert cache == {"us-east-1": first_us, "eu-west-1": first_eu}
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_access_denied_falls_back_to_the_table_with_one_warning(pricing, caplog):
    client, stubber = pricing
    stubber.add_client_error(
        "get_products",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: pricing:GetProducts",
        http_status_code=400,
        expected_params=params("eu-west-1"),
    )
    cache: dict[str, StoragePrices] = {}

    prices = resolve_storage_prices(lambda: client, "eu-west-1", None, cache)
    again = resolve_storage_prices(lambda: client, "eu-west-1", None, cache)

    assert prices == StoragePrices(Decimal("0.10"), None, "fallback-table")
    assert again is prices
    assert prices.archive_rate == Decimal("0.10")
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "eu-west-1" in message
    assert "fallback table" in message
    assert "pricing:GetProducts failed with AccessDeniedException" in message


def test_a_price_list_without_a_storage_product_falls_back(pricing, caplog):
    client, stubber = pricing
    stubber.add_response(
        "get_products", {"FormatVersion": "aws_v1", "PriceList": US_EAST_1[:3]}, params("us-east-1")
    )

    prices = resolve_storage_prices(lambda: client, "us-east-1", None, {})

    assert prices == StoragePrices(Decimal("0.10"), Decimal("0.10"), "fallback-table")
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "no TimedStorage-ByteHrs product" in warning.getMessage()


def test_conflicting_storage_products_are_not_guessed_between(pricing, caplog):
    client, stubber = pricing
    other = US_EAST_1[3].replace('"STD', '"STD2').replace("0.1000000000", "0.1200000000")
    stubber.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": [US_EAST_1[3], other]},
        params("us-east-1"),
    )

    prices = resolve_storage_prices(lambda: client, "us-east-1", None, {})

    assert prices.source == "fallback-table"
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "us-east-1 lists several standard storage rates (0.1000000000, 0.1200000000)" in (
        warning.getMessage()
    )


class UnreachableClient:
    """A pricing client whose endpoint cannot be reached (no network, blocked egress)."""

    def get_paginator(self, name: str) -> Any:
        raise EndpointConnectionError(endpoint_url="https://api.pricing.us-east-1.amazonaws.com/")


def test_an_unreachable_endpoint_falls_back_and_unknown_regions_get_the_default(caplog):
    prices = resolve_storage_prices(UnreachableClient, "ap-southeast-7", None, {})

    assert prices == StoragePrices(DEFAULT_STANDARD, None, "fallback-table")
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "Could not connect to the endpoint URL" in warning.getMessage()


def test_the_override_is_used_without_asking_or_caching():
    def factory() -> Any:
        raise AssertionError("the Pricing API must not be asked when the price is overridden")

    cache: dict[str, StoragePrices] = {}

    prices = resolve_storage_prices(factory, "eu-west-1", Decimal("0.125"), cache)

    assert prices == StoragePrices(Decimal("0.125"), None, "override")
    assert prices.archive_rate == Decimal("0.125")
    assert cache == {}


def test_the_table_knows_its_regions_and_defaults_the_rest():
    assert fallback_prices("ap-northeast-1") == StoragePrices(
        Decimal("0.10"), Decimal("0.10"), "fallback-table"
    )
    assert fallback_prices("me-central-1") == StoragePrices(Decimal("0.10"), None, "fallback-table")
