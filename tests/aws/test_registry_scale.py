"""A registry larger than one page, and a throttled one, read through the emulator with real clients."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from ecr_provider.aws.ecr import PAGE_SIZE, RegistryReader, ecr_client_config
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.transform import ReportContext
from ecr_provider.report_files import write_registry_report
from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS, Emulator
from emulator.synthetic_registry import image_counts, seed_synthetic_registry

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
CONTEXT = ReportContext(as_of=AS_OF, prices=StoragePrices(Decimal("0.10"), None, "override"))


def reader(emulator: Emulator, region: str, concurrency: int = 16) -> RegistryReader:
    ecr = boto3.client(
        "ecr",
        endpoint_url=emulator.endpoint_url,
        region_name=region,
        config=ecr_client_config(concurrency),
        **DUMMY_CREDENTIALS,
    )
    return RegistryReader(ecr, concurrency)


def digests(directory: Path, registry: RegistryReader) -> dict[str, str]:
    directory.mkdir()
    report = write_registry_report([(registry, CONTEXT)], directory)
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in report.files.items()}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def test_calls_are_the_minimum_for_registries_beyond_one_page(emulator: Emulator, tmp_path: Path) -> None:
    seed_synthetic_registry(ACCOUNT_ID, "eu-west-1", repositories=1_005, images=2_010, as_of=AS_OF)
    seed_synthetic_registry(ACCOUNT_ID, "us-east-2", repositories=1, images=2_100, as_of=AS_OF)
    many, large = reader(emulator, "eu-west-1"), reader(emulator, "us-east-2")
    report = write_registry_report([(many, CONTEXT), (large, CONTEXT)], tmp_path)
    assert (report.tally.repositories, report.tally.images) == (1_006, 4_110)
    assert many.calls.as_dict() == {
        "DescribeImages": {"calls": 1_005, "retries": 0, "throttled": 0},
        "DescribeRepositories": {"calls": 2, "retries": 0, "throttled": 0},
        "GetLifecyclePolicy": {"calls": 1_005, "retries": 0, "throttled": 0},
    }
    assert max(image_counts(1_005, 2_010)) < PAGE_SIZE
    assert large.calls.as_dict()["DescribeImages"]["calls"] == math.ceil(2_100 / PAGE_SIZE) == 3


def test_throttling_slows_a_read_down_but_never_changes_the_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    with Emulator() as calm:
        seed_synthetic_registry(ACCOUNT_ID, "eu-west-1", repositories=40, images=400, as_of=AS_OF)
        expected = digests(tmp_path / "calm", reader(calm, "eu-west-1"))
    with Emulator(throttle_rate=0.2) as busy:
        seed_synthetic_registry(ACCOUNT_ID, "eu-west-1", repositories=40, images=400, as_of=AS_OF)
        throttled = reader(busy, "eu-west-1")
        assert digests(tmp_path / "busy", throttled) == expected
    counts = throttled.calls.as_dict()
    assert sum(c["throttled"] for c in counts.values()) > 0
    for operation, count in counts.items():
        assert count["retries"] == count["throttled"], operation
    assert counts["GetLifecyclePolicy"]["calls"] == 40
