"""The demo's ./reports/*.csv, which people open in a spreadsheet, show formula cells as text; the
mirror of the lake in ./reports/lake/ keeps the objects exactly, as Athena reads them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ecr_provider.core.columns import REPORTS, Kind
from ecr_provider.core.csv_format import CANONICAL, FORMULA_TRIGGERS, ReportCsvWriter, restore_formula
from ecr_provider.core.layout import partition_prefix
from emulator import demo
from emulator.server import Emulator, client

pytestmark = pytest.mark.integration

REPORT_DATE = "2026-11-20"
HOSTILE = ('=HYPERLINK("http://attacker.example","open")', "@SUM(A1:A9)", "+1+1", "-2+3", "\tcmd")


def hostile_object(report: str, account: str) -> bytes:
    """A canonical object of ``report`` whose text cells hold formulas, its other cells empty."""
    columns = REPORTS[report]
    stream = io.StringIO(newline="")
    writer = ReportCsvWriter(stream, columns, CANONICAL)
    for row in range(2):
        writer.write(
            [
                HOSTILE[(index + row) % len(HOSTILE)] if column.kind is Kind.TEXT else ""
                for index, column in enumerate(columns)
            ]
        )
    writer.write([account if column.kind is Kind.TEXT else "" for column in columns])
    return stream.getvalue().encode("utf-8")


def test_the_files_to_open_are_neutralised_and_the_lake_mirror_is_exact(
    emulator: Emulator, tmp_path: Path
) -> None:
    s3 = client("s3", emulator.endpoint_url, demo.REGION)
    s3.create_bucket(Bucket="reports")
    objects: dict[str, bytes] = {}
    for report in REPORTS:
        for account in ("111122223333", "444455556666"):
            key = f"{partition_prefix(demo.DEMO_SETTINGS['report_prefix'], report, REPORT_DATE)}{account}.csv"
            objects[key] = hostile_object(report, account)
            s3.put_object(Bucket="reports", Key=key, Body=objects[key])

    keys = demo.download_reports(emulator.endpoint_url, "reports", REPORT_DATE, tmp_path)

    assert sorted(key for report_keys in keys.values() for key in report_keys) == sorted(objects)
    for report in REPORTS:
        mirrored = sorted(demo.lake_partition(report, REPORT_DATE, tmp_path).iterdir())
        assert [path.read_bytes() for path in mirrored] == [
            objects[key] for key in sorted(key for key in objects if f"/{report}/" in key)
        ]
        lake = demo.lake_rows(report, REPORT_DATE, tmp_path)
        with (tmp_path / f"{report}.csv").open(encoding="utf-8", newline="") as handle:
            opened = list(csv.DictReader(handle))
        assert len(opened) == len(lake) == 6
        cells = [cell for row in opened for cell in row.values()]
        assert [cell for cell in cells if cell.startswith(FORMULA_TRIGGERS)] == []
        assert [{h: restore_formula(c) for h, c in row.items()} for row in opened] == lake
        assert {cell for row in lake for cell in row.values()} >= set(HOSTILE)  # kept exact in the lake
