"""``ecr-report`` over several regions: a cause that repeats in every region is one warning naming the
regions' registries, and a cause seen once is logged as it is."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecr_provider import cli
from ecr_provider.core.columns import REPOSITORIES_REPORT
from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS, Emulator
from emulator.synthetic_registry import seed_synthetic_registry

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
REGIONS = ("eu-west-3", "eu-south-1", "eu-central-2")


@pytest.fixture(scope="module")
def seeded(emulator: Emulator) -> Emulator:
    """A repository of two images in each region (an empty registry reads neither setting)."""
    for region in REGIONS:
        seed_synthetic_registry(ACCOUNT_ID, region, repositories=1, images=2, as_of=AS_OF)
    return emulator


@pytest.fixture
def console(seeded: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seeded.endpoint_url)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name.upper(), value)
    yield seeded
    seeded.inject_faults({})


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def report(output: Path, regions: tuple[str, ...]) -> None:
    argv = ["--output-dir", str(output), "--as-of", AS_OF.isoformat(), "--no-html"]
    argv += ["--price-per-gb-month", "0.10", *(part for region in regions for part in ("--region", region))]
    assert cli.run(argv) == 0
    assert (output / f"{REPOSITORIES_REPORT}.csv").is_file()


def test_a_cause_repeated_in_every_region_is_one_warning_naming_each_registry(
    console: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    console.inject_faults({"ecr:GetAccountSetting": ["denied"] * len(REGIONS)})

    with caplog.at_level(logging.WARNING):
        report(tmp_path / "out", REGIONS)

    blob_mounting = [message for message in warnings_of(caplog) if "blob mounting unknown" in message]
    assert len(blob_mounting) == 1, warnings_of(caplog)
    [warning] = blob_mounting
    labels = warning.split(" (", 1)[1].split("): ", 1)[0].split(", ")
    assert warning.startswith(f"{len(REGIONS)} registries of this run (")
    assert sorted(label.rsplit("/", 1)[1] for label in labels) == sorted(REGIONS)
    assert "Registry <registry>: blob mounting unknown, priced per repository:" in warning
    assert "ecr:GetAccountSetting" in warning
    assert [fault for _, fault in console.faults_injected] == ["denied"] * len(REGIONS)


def test_a_cause_in_one_region_is_logged_as_it_is(
    console: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    console.inject_faults({"ecr:GetAccountSetting": ["denied"]})

    with caplog.at_level(logging.WARNING):
        report(tmp_path / "out", REGIONS)

    [warning] = [message for message in warnings_of(caplog) if "blob mounting unknown" in message]
    assert warning.startswith("Registry ")
    assert "<registry>" not in warning
    assert "registries of this run" not in warning
