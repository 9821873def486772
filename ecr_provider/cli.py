"""``ecr-report``: the reports of one or more regions as CSV files in a folder, without Airflow.

What the original container did, on the same core as the operators. Credentials come from the
standard AWS chain, so profiles, roles and ``AWS_ENDPOINT_URL`` all work.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ecr_provider import log_redaction
from ecr_provider.aws.ecr import ecr_client_config
from ecr_provider.aws.errors import AwsCallError
from ecr_provider.aws.manifests import InMemoryManifestCache
from ecr_provider.aws.pricing import PRICING_REGION
from ecr_provider.aws.regions import ecr_regions
from ecr_provider.aws.registry import OpenRegistry, RegistryClients, open_registry
from ecr_provider.core.cleanup import DEFAULT_RECLAIM_AFTER_DAYS
from ecr_provider.core.columns import FINDINGS_REPORT, IMAGES_REPORT, REPORTS, REPOSITORIES_REPORT, Kind
from ecr_provider.core.csv_format import CANONICAL, CsvFormat, read_canonical
from ecr_provider.core.html_report import ReportPage, TrendPoint, render_report, risky_images
from ecr_provider.core.layout import HTML_NAME
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.progress import ProgressSink, ProgressState
from ecr_provider.core.settings import (
    DEFAULT_FINDINGS_MAX_AGE_DAYS,
    DEFAULT_MAX_CONCURRENCY,
    check_as_of,
    check_regions,
)
from ecr_provider.report_files import RegistryReport, write_registry_report

log = logging.getLogger("ecr_report")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
BAR_WIDTH = 30
PRICING_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=10)
BAR_REDRAW_SECONDS = 0.5
SINGLE_RUN_NOTE = (
    "One run of ecr-report: the trend shows this run alone; the DAG's page has every report date. "
    "Thresholds are the DAG's settings, so none is applied here."
)
_DECIMALS = frozenset(
    column.header for columns in REPORTS.values() for column in columns if column.kind is Kind.DECIMAL
)
LOG_PROGRESS_SECONDS = 10.0
EXIT_FINDINGS_FAILED = 3
"""The summaries were written, image_findings.csv was not (1: no report at all; 2: bad input)."""


class _Parser(argparse.ArgumentParser):
    """Bad input: one line on stderr and exit code 2, no usage dump or traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"ecr-report: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ecr-report", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output-dir", required=True, type=Path, help="folder for the CSV files")
    parser.add_argument(
        "--region",
        action="append",
        dest="regions",
        help="AWS region to report (repeatable); default: the session's region",
    )
    parser.add_argument("--as-of", help="ISO-8601 time 'days since' is measured to; default: now")
    parser.add_argument(
        "--decimal-separator",
        default=os.environ.get("DECIMAL_SEPARATOR", "."),
        help="'.' (default, ',' delimiter) or ',' (';' delimiter); env DECIMAL_SEPARATOR",
    )
    parser.add_argument(
        "--price-per-gb-month", help="storage price override in USD per GB-month; default: the Pricing API"
    )
    parser.add_argument(
        "--read-manifests",
        default="if-excluded",
        help="unique-blob storage from manifests: if-excluded (default; only when this principal is excluded "
        "from pull-time updates), always (pull times move), never",
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY, help="repositories read at once"
    )
    parser.add_argument(
        "--include-findings",
        action="store_true",
        help="also write image_findings.csv: one row per vulnerability finding per image",
    )
    parser.add_argument(
        "--findings-max-age-days",
        type=int,
        default=DEFAULT_FINDINGS_MAX_AGE_DAYS,
        help=f"image_findings lists images pushed or pulled within this many days "
        f"(default {DEFAULT_FINDINGS_MAX_AGE_DAYS})",
    )
    parser.add_argument(
        "--reclaim-after-days",
        type=int,
        default=DEFAULT_RECLAIM_AFTER_DAYS,
        help="an image not in use is reclaimable once neither pulled nor pushed for this many days "
        f"(default {DEFAULT_RECLAIM_AFTER_DAYS})",
    )
    parser.add_argument(
        "--protected-tag-pattern",
        action="append",
        dest="protected_tag_patterns",
        default=[],
        help="glob pattern of tags whose images are never reclaimable (repeatable), such as 'v*'",
    )
    return parser


def _log_level() -> int:
    verbosity = os.environ.get("LOG_VERBOSITY", "INFO")
    if verbosity.upper() not in LOG_LEVELS:
        raise ValueError(f"LOG_VERBOSITY {verbosity!r} is not one of {', '.join(LOG_LEVELS)}")
    return int(getattr(logging, verbosity.upper()))


def _progress_sink() -> tuple[ProgressSink, float]:
    """A bar redrawn in place on a terminal; plain log lines anywhere else (files, CI, pipes)."""
    if not sys.stderr.isatty():
        return (lambda state: log.info("progress: %s", state.line())), LOG_PROGRESS_SECONDS

    def draw(state: ProgressState) -> None:
        share = state.repositories_done / state.repositories_total if state.repositories_total else 1.0
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        end = "\n" if state.repositories_done == state.repositories_total else ""
        sys.stderr.write(f"\r[{bar}] {state.line()}{end}")
        sys.stderr.flush()

    return draw, BAR_REDRAW_SECONDS


def _registry(
    session: boto3.Session,
    region: str,
    options: RegistryOptions,
    as_of: datetime,
    price_cache: dict[str, StoragePrices],
) -> OpenRegistry:
    """One region's registry through the standard credential chain; manifests cached in memory."""
    config = ecr_client_config(options.max_concurrency)
    return open_registry(
        RegistryClients.connect(
            lambda service: session.client(service, region_name=region, config=config), region
        ),
        options,
        as_of=as_of,
        manifest_cache=InMemoryManifestCache(),
        pricing_client=lambda: session.client("pricing", region_name=PRICING_REGION, config=PRICING_CONFIG),
        price_cache=price_cache,
    )


def _rows(path: Path, csv_format: CsvFormat) -> Iterator[dict[str, str]]:
    """A report written in ``csv_format`` read back with ``.`` decimals, as the HTML builder takes them."""
    with path.open(encoding="utf-8", newline="") as handle:
        if csv_format == CANONICAL:
            yield from read_canonical(handle)
            return
        for row in csv.DictReader(handle, delimiter=csv_format.delimiter):
            yield {
                header: cell.replace(csv_format.decimal_separator, ".") if header in _DECIMALS else cell
                for header, cell in row.items()
            }


def write_html_report(
    report: RegistryReport, directory: Path, csv_format: CsvFormat, report_date: str
) -> Path:
    """``report.html`` beside the CSVs, from the CSVs just written (read back a row at a time)."""
    tally = report.tally
    page = ReportPage(
        report_date,
        list(_rows(report.files[REPOSITORIES_REPORT], csv_format)),
        [TrendPoint(report_date, tally.total_size_bytes, tally.billable_size_bytes, tally.monthly_cost)],
        risky_images(_rows(report.files[IMAGES_REPORT], csv_format)),
        notes=(SINGLE_RUN_NOTE,),
    )
    path = directory / HTML_NAME
    path.write_text(render_report(page), encoding="utf-8")
    return path


def run(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    log_redaction.install()
    try:
        logging.basicConfig(
            level=_log_level(), format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
        )
        csv_format = CsvFormat(args.decimal_separator)
        now = datetime.now(UTC)
        as_of = check_as_of(args.as_of or now.isoformat(), now=now)
        options = RegistryOptions.of(args)
        session = boto3.Session()
        regions = check_regions(
            args.regions or ([session.region_name] if session.region_name else []), ecr_regions()
        )
    except (ValueError, BotoCoreError) as error:
        parser.exit(2, f"ecr-report: error: {error}\n")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    price_cache: dict[str, StoragePrices] = {}
    try:
        registries = [_registry(session, region, options, as_of, price_cache) for region in regions]
        sink, interval = _progress_sink()
        report = write_registry_report(
            registries,
            args.output_dir,
            csv_format=csv_format,
            progress=sink,
            progress_interval_seconds=interval,
        )
    except (AwsCallError, ClientError, BotoCoreError) as error:
        parser.exit(1, f"ecr-report: error: {error}\n")
    tally = report.tally
    html_path = write_html_report(report, args.output_dir, csv_format, as_of.date().isoformat())
    for (reader, _), region in zip(registries, regions, strict=True):
        log.info("ECR calls in %s: %s", region, reader.calls.summary())
    for skipped in report.skipped:
        log.warning("skipped repository %s: %s", skipped.name, skipped.reason)
    log.info(
        "%d repositories, %d images, USD %s per month -> %s",
        tally.repositories,
        tally.images,
        tally.as_dict()["monthly_cost_usd"],
        ", ".join(str(path) for path in report.files.values()),
    )
    if report.findings_error is not None:
        parser.exit(
            EXIT_FINDINGS_FAILED,
            f"ecr-report: error: {FINDINGS_REPORT}.csv not written ({report.findings_error}); "
            "the other reports were\n",
        )
    if report.findings is not None:
        log.info("%d vulnerability findings in %s", report.findings, report.files[FINDINGS_REPORT])
    elif (args.output_dir / f"{FINDINGS_REPORT}.csv").exists():
        log.warning(
            "%s is from an earlier run: without --include-findings it was not rewritten",
            args.output_dir / f"{FINDINGS_REPORT}.csv",
        )
    log.info("HTML report: %s", html_path)
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
