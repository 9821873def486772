"""The one flow both doors share (the CLI and the Airflow operator): read a registry, write both reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecr_provider.core.columns import IMAGE_COLUMNS, IMAGES_REPORT, REPOSITORIES_REPORT, REPOSITORY_COLUMNS
from ecr_provider.core.csv_format import CANONICAL, CsvFormat, ReportCsvWriter
from ecr_provider.core.progress import Progress, ProgressSink, ProgressState
from ecr_provider.core.report import ReportTally, write_reports

if TYPE_CHECKING:
    from ecr_provider.aws.call_stats import CallStats
    from ecr_provider.aws.ecr import RegistryReader, SkippedRepository
    from ecr_provider.core.transform import ReportContext


@dataclass
class RegistryReport:
    files: dict[str, Path]
    tally: ReportTally
    skipped: list[SkippedRepository] = field(default_factory=list)
    calls: list[CallStats] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            **self.tally.as_dict(),
            "skipped": [{"repository": s.name, "reason": s.reason} for s in self.skipped],
            "calls": [stats.as_dict() for stats in self.calls],
        }


def write_registry_report(
    registries: Sequence[tuple[RegistryReader, ReportContext]],
    directory: Path,
    *,
    csv_format: CsvFormat = CANONICAL,
    progress: ProgressSink | None = None,
    progress_interval_seconds: float = 10.0,
) -> RegistryReport:
    """Write ``{report}.csv`` in ``directory`` for all registries, streaming repository by repository."""
    files = {report: directory / f"{report}.csv" for report in (REPOSITORIES_REPORT, IMAGES_REPORT)}
    listed = [(reader, context, reader.repositories()) for reader, context in registries]
    tracker = Progress(
        sum(len(repositories) for _, _, repositories in listed),
        progress or _ignore,
        progress_interval_seconds,
    )
    priced = (
        (snapshot, context)
        for reader, context, repositories in listed
        for snapshot in reader.snapshots(repositories)
    )
    with (
        files[REPOSITORIES_REPORT].open("w", encoding="utf-8", newline="") as repositories_out,
        files[IMAGES_REPORT].open("w", encoding="utf-8", newline="") as images_out,
    ):
        tally = write_reports(
            tracker.track(priced, lambda pair: len(pair[0].images)),
            ReportCsvWriter(repositories_out, REPOSITORY_COLUMNS, csv_format),
            ReportCsvWriter(images_out, IMAGE_COLUMNS, csv_format),
        )
    return RegistryReport(
        files,
        tally,
        [skip for reader, _ in registries for skip in reader.skipped],
        [reader.calls for reader, _ in registries],
    )


def _ignore(state: ProgressState) -> None:
    return
