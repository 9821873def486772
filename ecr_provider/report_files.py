"""The one flow both doors share (the CLI and the Airflow operator): read a registry, write both reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecr_provider.core.columns import IMAGE_COLUMNS, REPOSITORY_COLUMNS
from ecr_provider.core.csv_format import CANONICAL, CsvFormat, ReportCsvWriter
from ecr_provider.core.report import ReportTally, write_reports

if TYPE_CHECKING:
    from ecr_provider.aws.ecr import RegistryReader, SkippedRepository
    from ecr_provider.core.transform import ReportContext

REPOSITORIES_REPORT = "repositories_summary"
IMAGES_REPORT = "images_summary"


@dataclass
class RegistryReport:
    files: dict[str, Path]
    tally: ReportTally
    skipped: list[SkippedRepository] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            **self.tally.as_dict(),
            "skipped": [{"repository": s.name, "reason": s.reason} for s in self.skipped],
        }


def write_registry_report(
    readers: Sequence[RegistryReader],
    context: ReportContext,
    directory: Path,
    csv_format: CsvFormat = CANONICAL,
) -> RegistryReport:
    """Write ``{report}.csv`` in ``directory`` for all registries, streaming repository by repository."""
    files = {report: directory / f"{report}.csv" for report in (REPOSITORIES_REPORT, IMAGES_REPORT)}
    with (
        files[REPOSITORIES_REPORT].open("w", encoding="utf-8", newline="") as repositories_out,
        files[IMAGES_REPORT].open("w", encoding="utf-8", newline="") as images_out,
    ):
        tally = write_reports(
            (snapshot for reader in readers for snapshot in reader.snapshots(reader.repositories())),
            context,
            ReportCsvWriter(repositories_out, REPOSITORY_COLUMNS, csv_format),
            ReportCsvWriter(images_out, IMAGE_COLUMNS, csv_format),
        )
    return RegistryReport(files, tally, [skip for reader in readers for skip in reader.skipped])
