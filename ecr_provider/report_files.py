"""The one flow both doors share (the CLI and the Airflow operator): read a registry, write its reports."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.inspector import ImageSpill, image_tags_spill
from ecr_provider.core import units
from ecr_provider.core.columns import (
    FINDING_COLUMNS,
    FINDINGS_REPORT,
    IMAGE_COLUMNS,
    IMAGES_REPORT,
    REGISTRIES_REPORT,
    REGISTRY_COLUMNS,
    REPORTS,
    REPOSITORIES_REPORT,
    REPOSITORY_COLUMNS,
    Kind,
)
from ecr_provider.core.csv_format import (
    CANONICAL,
    CsvFormat,
    ReportCsvWriter,
    read_canonical,
    restore_formulas,
)
from ecr_provider.core.findings import finding_row, images_with_findings
from ecr_provider.core.phase_times import FINDINGS, READ, SETUP, PhaseTimes
from ecr_provider.core.progress import Progress, ProgressSink, ProgressState
from ecr_provider.core.records import RepositorySnapshot
from ecr_provider.core.report import ReportTally, write_reports
from ecr_provider.core.run_manifest import RegistrySummary, error_line

log = logging.getLogger(__name__)
WRITE_BUFFER_BYTES = 4 * 1024 * 1024
"""Each report file's buffer: a flush releases the GIL for its system call, and getting it back waits
behind every busy reader thread, so the main thread flushes a few times per report instead of every
8 KB. With the formula guard's one-pass check, the console's write phase on 300 repositories and
6,000 images at concurrency 32 went from 1.3-1.9 s to 0.3-0.6 s (benchmarks.end_to_end, a 2-core
machine loaded by other work, 5 December 2026)."""

_DECIMALS = frozenset(
    column.header for columns in REPORTS.values() for column in columns if column.kind is Kind.DECIMAL
)

if TYPE_CHECKING:
    from ecr_provider.aws.call_stats import CallStats
    from ecr_provider.aws.ecr import RegistryReader, SkippedRepository
    from ecr_provider.aws.inspector import RegistryFindings
    from ecr_provider.core.transform import ReportContext


@dataclass
class RegistryReport:
    files: dict[str, Path]
    tally: ReportTally
    skipped: list[SkippedRepository] = field(default_factory=list)
    calls: list[CallStats] = field(default_factory=list)
    findings: int | None = None
    """Rows of the image_findings report; None when it was not asked for or could not be read."""
    findings_error: AwsCallError | None = None
    """Why image_findings could not be read (the denied call); the summaries were written all the same."""

    def summary(
        self, account_id: str, region: str, report_date: str, keys: dict[str, str]
    ) -> RegistrySummary:
        tally = self.tally
        summary = RegistrySummary(
            account_id=account_id,
            region=region,
            report_date=report_date,
            keys=keys,
            repositories=tally.repositories,
            images=tally.images,
            total_size_bytes=tally.total_size_bytes,
            billable_size_bytes=tally.billable_size_bytes,
            monthly_cost_usd=units.usd(tally.monthly_cost),
            skipped=[{"repository": s.name, "reason": s.reason} for s in self.skipped],
            calls=[stats.as_dict() for stats in self.calls],
        )
        if self.findings is not None:
            summary["findings"] = self.findings
        if self.findings_error is not None:
            summary["findings_error"] = error_line(self.findings_error)
        return summary


def write_registry_report(
    registries: Sequence[tuple[RegistryReader, ReportContext]],
    directory: Path,
    *,
    csv_format: CsvFormat = CANONICAL,
    progress: ProgressSink | None = None,
    progress_interval_seconds: float = 10.0,
    phases: PhaseTimes | None = None,
) -> RegistryReport:
    """Write ``{report}.csv`` in ``directory`` for all registries, streaming repository by repository.

    ``image_findings.csv`` is written too when the readers have a findings reader (all or none):
    after the summaries, for the images they showed with findings within the age bound. Findings are
    a report of their own: when a findings call fails (denied, most often) the summaries stand, the
    findings file is left out (a partial one would read as "fewer vulnerabilities") and
    :attr:`RegistryReport.findings_error` names the call, for the caller to fail visibly.

    ``phases`` gets the time before the call as set-up (clients, registries opened), the time from
    the call to the last summary row (the main thread's transform and write, the rest as read), then
    the findings report's.
    """
    if phases is not None:
        phases.mark(SETUP)
    sources = _findings_sources(registries)
    reports = (
        REPOSITORIES_REPORT,
        IMAGES_REPORT,
        REGISTRIES_REPORT,
        *(() if sources is None else (FINDINGS_REPORT,)),
    )
    files = {report: directory / f"{report}.csv" for report in reports}
    listed = [(reader, context, reader.repositories()) for reader, context in registries]
    tracker = Progress(
        sum(len(repositories) for _, _, repositories in listed),
        progress or _ignore,
        progress_interval_seconds,
    )
    wanted = [image_tags_spill() for _ in listed]
    priced = (
        (snapshot, context)
        for (reader, context, repositories), images in zip(listed, wanted, strict=True)
        for snapshot in _noting(reader, context, reader.snapshots(repositories), images)
    )
    with (
        files[REPOSITORIES_REPORT].open(
            "w", buffering=WRITE_BUFFER_BYTES, encoding="utf-8", newline=""
        ) as repositories_out,
        files[IMAGES_REPORT].open(
            "w", buffering=WRITE_BUFFER_BYTES, encoding="utf-8", newline=""
        ) as images_out,
        files[REGISTRIES_REPORT].open(
            "w", buffering=WRITE_BUFFER_BYTES, encoding="utf-8", newline=""
        ) as registries_out,
    ):
        tally = write_reports(
            tracker.track(priced, lambda pair: len(pair[0].images)),
            ReportCsvWriter(repositories_out, REPOSITORY_COLUMNS, csv_format),
            ReportCsvWriter(images_out, IMAGE_COLUMNS, csv_format),
            ReportCsvWriter(registries_out, REGISTRY_COLUMNS, csv_format),
            [context for _, context in registries],
            phases=phases,
        )
    if phases is not None:
        phases.mark(READ)
    findings, findings_error = None, None
    if sources is not None:
        try:
            findings = _write_findings(files[FINDINGS_REPORT], sources, registries, wanted, csv_format)
        except AwsCallError as error:
            files.pop(FINDINGS_REPORT).unlink(missing_ok=True)
            findings_error = error
        if phases is not None:
            phases.mark(FINDINGS)
    return RegistryReport(
        files,
        tally,
        [skip for reader, _ in registries for skip in reader.skipped],
        [reader.calls for reader, _ in registries],
        findings,
        findings_error,
    )


def _write_findings(
    path: Path,
    sources: Sequence[RegistryFindings],
    registries: Sequence[tuple[RegistryReader, ReportContext]],
    wanted: Sequence[ImageSpill[tuple[str, ...]]],
    csv_format: CsvFormat,
) -> int:
    """The rows written to ``image_findings.csv``."""
    rows = 0
    with path.open("w", buffering=WRITE_BUFFER_BYTES, encoding="utf-8", newline="") as findings_out:
        writer = ReportCsvWriter(findings_out, FINDING_COLUMNS, csv_format)
        for source, (_, context), images in zip(sources, registries, wanted, strict=True):
            log.info(
                "Reading the findings of %d images with findings in %s/%s (%s scanning)",
                len(images),
                source.account_id,
                source.region,
                source.scan_type,
            )
            for finding in source.read(images):
                writer.write(finding_row(finding, context.as_of))
                rows += 1
    return rows


def _findings_sources(
    registries: Sequence[tuple[RegistryReader, ReportContext]],
) -> list[RegistryFindings] | None:
    sources = [reader.findings for reader, _ in registries if reader.findings is not None]
    if not sources:
        return None
    if len(sources) != len(registries):
        raise ValueError("either every registry's reader has a findings reader or none has")
    return sources


def _noting(
    reader: RegistryReader,
    context: ReportContext,
    snapshots: Iterator[RepositorySnapshot],
    wanted: ImageSpill[tuple[str, ...]],
) -> Iterator[RepositorySnapshot]:
    """Pass snapshots on, noting (on disk) the images whose findings the findings report will list."""
    for snapshot in snapshots:
        if reader.findings is not None:
            noted = images_with_findings(snapshot.images, context.as_of, reader.findings.max_age_days)
            wanted.update(noted.items())
        yield snapshot


def _ignore(state: ProgressState) -> None:
    return


def report_rows(path: Path, csv_format: CsvFormat) -> Iterator[dict[str, str]]:
    """A report written in ``csv_format`` read back with its cells as they were before the formula
    guard, and ``.`` decimals: the cells the canonical form holds."""
    with path.open(encoding="utf-8", newline="") as handle:
        if csv_format == CANONICAL:
            yield from read_canonical(handle)
            return
        reader = csv.reader(handle, delimiter=csv_format.delimiter)
        headers = next(reader)
        separator = csv_format.decimal_separator
        decimals = [i for i, header in enumerate(headers) if header in _DECIMALS] if separator != "." else []
        for cells in reader:
            restored = restore_formulas(cells)
            for position in decimals:
                restored[position] = restored[position].replace(separator, ".")
            yield dict(zip(headers, restored, strict=True))


def split_by_registry(
    report: RegistryReport,
    registries: Sequence[tuple[RegistryReader, ReportContext]],
    csv_format: CsvFormat,
    directory: Path,
) -> dict[tuple[str, str], RegistryReport]:
    """Each registry's part of ``report`` (written in ``csv_format``, every registry in each file) as
    the report task writes one registry: canonical files in a folder of its own under ``directory``,
    its own counts, skipped repositories and calls. By (account, region), in the registries' order."""
    parts: dict[tuple[str, str], RegistryReport] = {}
    for reader, context in registries:
        folder = directory / f"{context.account_id}-{context.region}"
        folder.mkdir(parents=True)
        parts[context.account_id, context.region] = RegistryReport(
            {name: folder / f"{name}.csv" for name in report.files},
            report.tally.of(context.account_id, context.region),
            list(reader.skipped),
            [reader.calls],
            findings_error=report.findings_error,
        )
    for name, path in report.files.items():
        with ExitStack() as files:
            writers = {
                registry: ReportCsvWriter(
                    files.enter_context(
                        part.files[name].open("w", buffering=WRITE_BUFFER_BYTES, encoding="utf-8", newline="")
                    ),
                    REPORTS[name],
                )
                for registry, part in parts.items()
            }
            headers = [column.header for column in REPORTS[name]]
            for row in report_rows(path, csv_format):
                writers[row["accountId"], row["region"]].write([row[header] for header in headers])
        if name == FINDINGS_REPORT:
            for registry, part in parts.items():
                part.findings = writers[registry].rows_written
    return parts
