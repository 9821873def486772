"""``ecr-report`` against the emulator when an optional part cannot be answered: the pull-time exclusion
check degrades to image-size storage with one warning, denied findings leave the summaries written and
exit 3. The issue's reproduction was the CLI failing with exit 1 and no report at all."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecr_provider import cli
from ecr_provider.aws import ecr
from ecr_provider.core.blobs import BASIS_IMAGE_SIZE
from ecr_provider.core.columns import FINDINGS_REPORT, IMAGES_REPORT, REPOSITORIES_REPORT
from ecr_provider.core.csv_format import read_canonical
from emulator.demo_registry import DemoRegistry, seed_demo_registry
from emulator.server import Emulator

pytestmark = pytest.mark.integration

REGION = "us-east-1"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry(emulator: Emulator) -> DemoRegistry:
    return seed_demo_registry(emulator.endpoint_url, REGION, AS_OF)


@pytest.fixture
def cli_on_emulator(
    emulator: Emulator, registry: DemoRegistry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[list[str]]:
    """The CLI's arguments; one retry per call, so a fault that outlasts the retries costs a second."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setattr(ecr, "MAX_ATTEMPTS", 1)
    for name in ("LOG_VERBOSITY", "DECIMAL_SEPARATOR"):
        monkeypatch.delenv(name, raising=False)
    yield ["--output-dir", str(tmp_path), "--region", REGION, "--as-of", AS_OF.isoformat()]
    emulator.inject_faults({})


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(read_canonical(stream))


def test_an_exclusion_check_failing_after_the_retries_reports_image_sizes_with_one_warning(
    cli_on_emulator: list[str],
    emulator: Emulator,
    registry: DemoRegistry,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.inject_faults({"ecr:ListPullTimeUpdateExclusions": ["500", "500"]})

    with caplog.at_level(logging.INFO):
        assert cli.run(cli_on_emulator) == 0

    assert emulator.faults_injected == [("ecr:ListPullTimeUpdateExclusions", "500")] * 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    [warning] = [message for message in warnings if "ListPullTimeUpdateExclusions" in message]
    assert warning.startswith(f"Storage in {REGION} is reported from image sizes")
    assert "(ecr:ListPullTimeUpdateExclusions failed with InternalFailure: Injected server error)" in warning
    repositories = rows(tmp_path / f"{REPOSITORIES_REPORT}.csv")
    assert len(repositories) == len(registry.repositories)
    assert {row["costBasis"] for row in repositories} == {BASIS_IMAGE_SIZE}


def test_denied_findings_write_the_summaries_and_exit_3_naming_the_action(
    cli_on_emulator: list[str],
    emulator: Emulator,
    registry: DemoRegistry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator.inject_faults({"ecr:DescribeImageScanFindings": ["denied"]})

    with pytest.raises(SystemExit) as exited:
        cli.run([*cli_on_emulator, "--include-findings", "--read-manifests", "never"])

    assert exited.value.code == cli.EXIT_FINDINGS_FAILED == 3
    [line] = capsys.readouterr().err.splitlines()[-1:]
    assert line.startswith(
        f"ecr-report: error: {FINDINGS_REPORT}.csv not written (ecr:DescribeImageScanFindings on "
    )
    assert line.endswith(
        "failed with AccessDeniedException: User is not authorized to perform: "
        "ecr:DescribeImageScanFindings); the other reports were"
    )
    assert len(rows(tmp_path / f"{REPOSITORIES_REPORT}.csv")) == len(registry.repositories)
    assert len(rows(tmp_path / f"{IMAGES_REPORT}.csv")) == len(registry.images)
    assert not (tmp_path / f"{FINDINGS_REPORT}.csv").exists()
