"""Units and text formats of the reports (docs/reports.md), in one place so every report and export agrees."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

MB = 2**20
GB = 2**30
_CENTS = Decimal("0.01")
_MONEY = Decimal("0.0001")
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_JSON_ESCAPED = re.compile(r'[\x00-\x1f"\\]')
"""What the encoder escapes with ``ensure_ascii=False``: a quote, a backslash, a control character."""


def megabytes(size_bytes: int) -> str:
    return str((Decimal(size_bytes) / MB).quantize(_CENTS, ROUND_HALF_UP))


def monthly_cost(billable_bytes: int, price_per_gb_month: Decimal) -> Decimal:
    return Decimal(billable_bytes) / GB * price_per_gb_month


def round_usd(amount: Decimal) -> Decimal:
    """An amount too large for the decimal context (a price typo) is named, not a bare InvalidOperation."""
    try:
        return amount.quantize(_MONEY, ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(
            f"USD amount {amount} has more digits than can be rounded to {_MONEY}; is a price too large?"
        ) from None


def usd(amount: Decimal) -> str:
    return str(round_usd(amount))


def timestamp(value: datetime | None) -> str:
    """``strftime("%Y-%m-%d %H:%M:%S")`` of the UTC time (as glibc writes it), in half its time:
    a report has several per image."""
    if value is None:
        return ""
    moment = utc(value)
    return (
        f"{moment.year}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def boolean(value: bool) -> str:
    return "true" if value else "false"


def compact_json(value: Any) -> str:
    return _COMPACT_JSON.encode(value)


def compact_json_strings(values: Sequence[str]) -> str:
    """``compact_json(list(values))``, written directly when no string needs an escape (image tags
    never do): in a profile of the console command the encoder took a quarter to a third of the
    time spent making image rows."""
    if not values:
        return "[]"
    joined = '","'.join(values)
    if _JSON_ESCAPED.search(joined):
        return compact_json(list(values))
    return f'["{joined}"]'


def integer(value: int | None) -> str:
    return "" if value is None else str(value)


def utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC: botocore and the CLI both hand us aware ones otherwise."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def days_ago(as_of: datetime, days: int) -> datetime:
    """The moment ``days`` whole days before the report's as-of time: "within N days" starts there."""
    return utc(as_of) - timedelta(days=days)


def days_between(earlier: datetime | None, as_of: datetime) -> int | None:
    """Whole days from ``earlier`` to the report's as-of time; 0 when ``earlier`` is after it."""
    if earlier is None:
        return None
    return max(0, (utc(as_of) - utc(earlier)).days)
