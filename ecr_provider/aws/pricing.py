"""ECR storage price per GB-month of a region, read from the AWS Price List Query API.

The Price List Query API is served only from us-east-1, eu-central-1 and ap-south-1, and any of them
answers for every region: callers create the ``pricing`` client in us-east-1. IAM action needed:
``pricing:GetProducts``. Without it (or without network) the documented table of
:mod:`ecr_provider.core.price_table` is used and one warning says so.

A region's ``AmazonECR`` price list holds several products (data transfer, archive retrieval,
storage), so the storage products are picked by usage type, never by position. In the price list
(product family "EC2 Container Registry") standard storage is ``TimedStorage-ByteHrs`` behind the
region's usage-type prefix (none in us-east-1, ``EU-`` in eu-west-1) and archive storage is
``<prefix>-TimedStorage-Archive-ByteHrs`` (prefix ``USE1-`` even in us-east-1), tiered at 150 TB a
month. The first tier (``beginRange`` 0) is taken: the rate a registry pays until it archives 150 TB.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ecr_provider.aws.errors import AwsCallError, aws_call
from ecr_provider.core.price_table import StoragePrices, fallback_prices

log = logging.getLogger(__name__)

SERVICE_CODE = "AmazonECR"
PRICING_REGION = "us-east-1"
PAGE_SIZE = 100
UNIT = "GB-Mo"
STANDARD_USAGE_TYPE = re.compile(r"(?:^|-)TimedStorage-ByteHrs$")
ARCHIVE_USAGE_TYPE = re.compile(r"(?:^|-)TimedStorage-Archive-ByteHrs$")


class PriceListError(ValueError):
    """The Pricing API answered, but not with exactly one standard storage rate for the region."""


def read_storage_prices(client: Any, region: str) -> StoragePrices:
    """Standard and (if listed) archive storage rates of ``region``, through a ``pricing`` client."""
    standard: set[Decimal] = set()
    archive: set[Decimal] = set()
    pages = client.get_paginator("get_products").paginate(
        ServiceCode=SERVICE_CODE,
        Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    for page in pages:
        for item in page["PriceList"]:
            document = json.loads(item)
            usage_type = str(document.get("product", {}).get("attributes", {}).get("usagetype", ""))
            if STANDARD_USAGE_TYPE.search(usage_type):
                standard.update(_first_tier_rates(document, usage_type))
            elif ARCHIVE_USAGE_TYPE.search(usage_type):
                archive.update(_first_tier_rates(document, usage_type))
    standard_rate = _single(standard, "standard", region)
    if standard_rate is None:
        raise PriceListError(f"the {SERVICE_CODE} price list of {region} has no TimedStorage-ByteHrs product")
    return StoragePrices(standard_rate, _single(archive, "archive", region), "pricing-api")


def resolve_storage_prices(
    pricing_client_factory: Callable[[], Any],
    region: str,
    override: Decimal | None,
    cache: dict[str, StoragePrices],
) -> StoragePrices:
    """The rates to use for ``region``: the override, else the Pricing API once per run, else the table.

    An override prices archived bytes too. ``cache`` lives for one run, so a region is asked for (and
    a fallback warned about) once; the factory is only called when the API is actually asked.
    """
    if override is not None:
        return StoragePrices(override, None, "override")
    cached = cache.get(region)
    if cached is not None:
        return cached
    try:
        with aws_call("pricing"):
            prices = read_storage_prices(pricing_client_factory(), region)
    except AwsCallError as error:
        prices = _fall_back(region, str(error))
    except ValueError as error:
        prices = _fall_back(region, f"the price list could not be used: {error}")
    else:
        log.info(
            "ECR storage price for %s from the Pricing API: standard USD %s, archive USD %s per GB-month",
            region,
            prices.standard,
            prices.archive_rate,
        )
    cache[region] = prices
    return prices


def _fall_back(region: str, reason: str) -> StoragePrices:
    prices = fallback_prices(region)
    log.warning(
        "ECR storage price for %s: using the fallback table (standard USD %s, archive USD %s per "
        "GB-month) because %s. Grant pricing:GetProducts, or set price_per_gb_month to choose the price.",
        region,
        prices.standard,
        prices.archive_rate,
        reason,
    )
    return prices


def _first_tier_rates(document: dict[str, Any], usage_type: str) -> Iterable[Decimal]:
    for term in document.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            if dimension.get("unit") == UNIT and dimension.get("beginRange", "0") == "0":
                yield _usd(dimension.get("pricePerUnit", {}).get("USD"), usage_type)


def _usd(value: object, usage_type: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise PriceListError(f"{usage_type} has no USD price ({value!r})") from error


def _single(rates: set[Decimal], kind: str, region: str) -> Decimal | None:
    """Several products with different rates would make any pick arbitrary, so that is an error."""
    if len(rates) > 1:
        listed = ", ".join(str(rate) for rate in sorted(rates))
        raise PriceListError(f"{region} lists several {kind} storage rates ({listed})")
    return next(iter(rates), None)
