"""The formats every report shares: written fast, the same text as the obvious way writes it."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ecr_provider.core import units


def test_timestamps_are_the_utc_time_strftime_writes() -> None:
    rng = random.Random(3)
    zones = [UTC, None, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    for _ in range(2_000):
        moment = datetime(
            rng.randint(2, 9998), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
            rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999_999), tzinfo=rng.choice(zones),
        )  # fmt: skip
        expected = units.utc(moment).strftime("%Y-%m-%d %H:%M:%S")
        assert units.timestamp(moment) == expected
    assert units.timestamp(datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)) == "2026-03-04 05:06:07"
    assert units.timestamp(datetime(2026, 3, 4, 1, 0, tzinfo=timezone(timedelta(hours=2)))) == (
        "2026-03-03 23:00:00"
    )
    assert units.timestamp(None) == ""


def test_compact_json_is_json_dumps_without_spaces_or_escapes() -> None:
    for value in (["v1", "latest"], [], {"HIGH": 2, "MEDIUM": 5}, ["é", 'q"uote', "back\\slash"]):
        assert units.compact_json(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert units.compact_json(["é", "a b"]) == '["é","a b"]'


def test_an_amount_too_large_to_round_is_named() -> None:
    amount = units.monthly_cost(5 * units.GB, Decimal("1e24"))

    with pytest.raises(ValueError, match=re.escape(f"USD amount {amount} has more digits")):
        units.usd(amount)


@pytest.mark.parametrize(
    "values",
    [(), ("latest",), ("v1.2", "release-3_x"), ('a"b',), ("a\\b",), ("line\nbreak", "tab\t"), ("é", "\x7f")],
)
def test_compact_json_strings_is_the_encoders_text(values: tuple[str, ...]) -> None:
    assert units.compact_json_strings(values) == units.compact_json(list(values))
