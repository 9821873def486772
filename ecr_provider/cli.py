"""``ecr-report``: the reports of one or more regions as CSV files in a folder, without Airflow.

What the original container did, on the same core as the operators. Credentials come from the
standard AWS chain, so profiles, roles and ``AWS_ENDPOINT_URL`` all work.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import NamedTuple

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ecr_provider import log_redaction
from ecr_provider.aws.ecr import ecr_client_config
from ecr_provider.aws.errors import AwsCallError, aws_call
from ecr_provider.aws.manifests import InMemoryManifestCache
from ecr_provider.aws.pricing import PRICING_REGION
from ecr_provider.aws.rate_limit import pace_registry
from ecr_provider.aws.regions import ecr_regions_of
from ecr_provider.aws.registry import OpenRegistry, RegistryClients, open_registry
from ecr_provider.aws.usage import USAGE_SERVICES, UsageReader
from ecr_provider.core.columns import FINDINGS_REPORT, IMAGES_REPORT, REPORTS, REPOSITORIES_REPORT
from ecr_provider.core.csv_format import CsvFormat
from ecr_provider.core.html_report import ReportPage, TrendPoint, page_images
from ecr_provider.core.layout import DEFAULT_REPORT_PREFIX, HTML_NAME
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.phase_times import HTML, OUTCOME, STARTUP, UPLOAD, PhaseTimes
from ecr_provider.core.price_table import StoragePrices
from ecr_provider.core.progress import ProgressSink, ProgressState
from ecr_provider.core.repeated_causes import grouped_warnings
from ecr_provider.core.settings import (
    CONSOLE_SETTINGS,
    Setting,
    check_as_of,
    check_bucket,
    check_database,
    check_regions,
    check_report_url,
)
from ecr_provider.core.targets import RegistryTarget, check_accounts
from ecr_provider.core.usage import RegistryUsage, SourceUsage, join_sources
from ecr_provider.exports import EXPORT_FORMATS, check_export_format, write_json, write_parquet
from ecr_provider.json_logs import DEFAULT_SERVICE, JsonLogFormatter
from ecr_provider.output_folder import FolderBusyError, replaced_as_a_whole
from ecr_provider.pages.render import render_report
from ecr_provider.report_files import RegistryReport, report_rows, split_by_registry, write_registry_report

log = logging.getLogger("ecr_report")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
REPOSITORY_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
"""ECR's repository name pattern (lowercase, '/'-separated parts), 2 to 256 characters checked apart."""
BAR_WIDTH = 30
PRICING_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=10)
BAR_REDRAW_SECONDS = 0.5
SINGLE_RUN_NOTE = (
    "One run of ecr-report: the trend shows this run alone; the DAG's page has every report date. "
    "Thresholds are the DAG's settings, so none is applied here."
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
    parser.add_argument("--as-of", help="ISO-8601 time 'days since' is measured to; default: now")
    parser.add_argument(
        "--decimal-separator",
        default=os.environ.get("DECIMAL_SEPARATOR", "."),
        help="'.' (default, ',' delimiter) or ',' (';' delimiter); env DECIMAL_SEPARATOR",
    )
    for setting in CONSOLE_SETTINGS:
        _add_setting_option(parser, setting)
    parser.add_argument(
        "--repository",
        default=os.environ.get("REPORT") if os.environ.get("REPORT") != "registry" else None,
        help="report this repository's images only; env REPORT (its value 'registry': every repository)",
    )
    parser.add_argument("--no-html", action="store_true", help="write no report.html beside the files")
    parser.add_argument(
        "--format",
        default=os.environ.get("EXPORT_FORMAT", "csv").lower(),
        help="csv (default), json or parquet (the 'parquet' extra), columns typed as in the Athena views; "
        "env EXPORT_FORMAT",
    )
    parser.add_argument(
        "--upload",
        help="also write the reports to s3://bucket/prefix as the DAG does (its layout, generations and "
        "manifest; Glue partitions in --athena-database when its tables read there); env AWS_S3_BUCKET "
        f"(a bucket name: s3://BUCKET/{DEFAULT_REPORT_PREFIX})",
    )
    parser.add_argument(
        "--log-format",
        default=os.environ.get("LOG_FORMAT", "text"),
        help="'text' (default) or 'json': one JSON object per line, with a service name; env LOG_FORMAT",
    )
    parser.add_argument(
        "--log-service-name",
        default=os.environ.get("LOG_SERVICE_NAME", DEFAULT_SERVICE),
        help=f"the service named in JSON logs (default {DEFAULT_SERVICE}); env LOG_SERVICE_NAME",
    )
    return parser


def _add_setting_option(parser: argparse.ArgumentParser, setting: Setting) -> None:
    """An option from the table of settings: its check runs later, with the DAG's own wording."""
    assert setting.flag is not None
    kind = setting.schema.get("type")
    if kind == "boolean":
        parser.add_argument(setting.flag, dest=setting.name, action="store_true", help=setting.description)
    elif kind == "array":  # repeatable; nothing given: the table's default, or the session's region
        parser.add_argument(
            setting.flag, dest=setting.name, action="append", help=f"{setting.description} (repeatable)"
        )
    else:
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            type=int if kind == "integer" else str,
            default=setting.default,
            help=f"{setting.description} Default: {json.dumps(setting.default)}.",
        )


def _log_level() -> int:
    verbosity = os.environ.get("LOG_VERBOSITY", "INFO")
    if verbosity.upper() not in LOG_LEVELS:
        raise ValueError(f"LOG_VERBOSITY {verbosity!r} is not one of {', '.join(LOG_LEVELS)}")
    return int(getattr(logging, verbosity.upper()))


def _log_formatter(log_format: str, service: str) -> logging.Formatter:
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    if log_format == "json":
        if not service.strip():
            raise ValueError(f"log service name {service!r} must not be empty")
        return JsonLogFormatter(service)
    return logging.Formatter("%(asctime)s %(levelname)s %(message)s")


def _repository(name: str | None) -> str | None:
    """An ECR repository name as ``DescribeRepositories`` takes it, so a typo fails before any call."""
    if name is None:
        return None
    if not REPOSITORY_NAME.match(name):
        raise ValueError(f"repository {name!r} is not an ECR repository name")
    return name


def _process_age_seconds() -> float | None:
    """Seconds since this process was started (interpreter and imports included), from the kernel's
    own start time (to its clock tick, 10 ms); None where ``/proc`` does not say."""
    try:
        fields = Path("/proc/self/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _phases() -> PhaseTimes:
    """Timing from the process's start, its start-up (before :func:`run`) the first phase when known."""
    age = _process_age_seconds()
    if age is None:
        return PhaseTimes()
    phases = PhaseTimes(time.perf_counter() - age)
    phases.mark(STARTUP)
    return phases


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


def _clients(session: boto3.Session, region: str, options: RegistryOptions) -> RegistryClients:
    """One region's registry through the standard credential chain."""
    config = ecr_client_config(options.max_concurrency)
    return RegistryClients.connect(
        lambda service: session.client(service, region_name=region, config=config), region
    )


def _read_usage(
    session: boto3.Session,
    registries: Sequence[RegistryClients],
    workload_roles: Sequence[str],
    options: RegistryOptions,
) -> list[SourceUsage]:
    """What runs in every region of the run, in its own account and in each workload account (through
    its role), before any registry is read: every registry joins its images' use from all of them."""
    config = ecr_client_config(options.max_concurrency)
    concurrency = options.max_concurrency
    readers = {each.registry: UsageReader(each.client, *each.registry, concurrency) for each in registries}
    for role in workload_roles:
        account = RegistryTarget("", role).account_id or ""
        if any(account == own_account for own_account, _ in readers):
            continue  # the account's workloads are read already, as a registry of the run
        assumed = _role_session(session, role)
        for each in registries:
            make_client = partial(assumed.client, region_name=each.region, config=config)
            workload = RegistryClients.connect(make_client, each.region, account)
            readers[account, each.region] = UsageReader(workload.client, account, each.region, concurrency)
    for reader in readers.values():
        pace = pace_registry(options.max_requests_per_second)
        for service in USAGE_SERVICES:
            pace.attach(reader.client(service))
    return [reader.read_source() for reader in readers.values()]


def _registries(
    session: boto3.Session,
    regions: Sequence[str],
    workload_roles: Sequence[str],
    options: RegistryOptions,
    *,
    as_of: datetime,
) -> list[OpenRegistry]:
    """Every region's registry, each joining its images' use from every source of the run; each
    region priced once."""
    price_cache: dict[str, StoragePrices] = {}
    clients = [_clients(session, region, options) for region in regions]
    sources = _read_usage(session, clients, workload_roles, options)
    return [
        _registry(
            session,
            each,
            options,
            as_of=as_of,
            price_cache=price_cache,
            usage=join_sources(sources, each.registry),
        )
        for each in clients
    ]


def _role_session(session: boto3.Session, role: str) -> boto3.Session:
    """A workload account's session: its usage is read in seconds, well within the role's hour."""
    with aws_call("sts", role):
        credentials = session.client("sts").assume_role(RoleArn=role, RoleSessionName="ecr-report-usage")
    return boto3.Session(
        aws_access_key_id=credentials["Credentials"]["AccessKeyId"],
        aws_secret_access_key=credentials["Credentials"]["SecretAccessKey"],
        aws_session_token=credentials["Credentials"]["SessionToken"],
    )


def _registry(
    session: boto3.Session,
    clients: RegistryClients,
    options: RegistryOptions,
    *,
    as_of: datetime,
    price_cache: dict[str, StoragePrices],
    usage: RegistryUsage,
) -> OpenRegistry:
    """One region's registry, its use joined from every source; manifests cached in memory."""
    return open_registry(
        clients,
        options,
        as_of=as_of,
        manifest_cache=InMemoryManifestCache(),
        pricing_client=lambda: session.client("pricing", region_name=PRICING_REGION, config=PRICING_CONFIG),
        price_cache=price_cache,
        usage=usage,
    )


def write_html_report(
    report: RegistryReport, directory: Path, csv_format: CsvFormat, report_date: str
) -> None:
    """``report.html`` beside the CSVs, from the CSVs just written (read back a row at a time)."""
    tally = report.tally
    repositories = list(report_rows(report.files[REPOSITORIES_REPORT], csv_format))
    page = ReportPage(
        report_date,
        repositories,
        [TrendPoint(report_date, tally.total_size_bytes, tally.billable_size_bytes, tally.monthly_cost)],
        page_images(report_rows(report.files[IMAGES_REPORT], csv_format), repositories),
        notes=(SINGLE_RUN_NOTE,),
    )
    (directory / HTML_NAME).write_text(render_report(page), encoding="utf-8")


def export_files(files: dict[str, Path], csv_format: CsvFormat, export_format: str) -> dict[str, Path]:
    """The reports in ``export_format``, each in place of its CSV file (read back a row at a time)."""
    if export_format == "csv":
        return files
    write = write_json if export_format == "json" else write_parquet
    exported = {}
    for report, path in files.items():
        exported[report] = path.with_suffix(f".{export_format}")
        write(report_rows(path, csv_format), REPORTS[report], exported[report])
        path.unlink()
    return exported


def _misleading(written: dict[str, Path], no_html: bool, findings_failed: bool) -> list[str]:
    """Files of an earlier run that this one replaces in another form, or whose page or findings would
    now describe another run; an earlier image_findings file without --include-findings is kept (and
    warned about)."""
    names = {path.name for path in written.values()}
    stale = [
        f"{report}.{extension}"
        for report in written
        for extension in EXPORT_FORMATS
        if f"{report}.{extension}" not in names
    ]
    if findings_failed:
        stale.extend(f"{FINDINGS_REPORT}.{extension}" for extension in EXPORT_FORMATS)
    if no_html:
        stale.append(HTML_NAME)
    return stale


class Upload(NamedTuple):
    """Where ``--upload`` writes: the bucket, the prefix and the Glue database of the partitions."""

    bucket: str
    prefix: str
    database: str


def _upload(url: str | None, database: str, repository: str | None) -> Upload | None:
    """``--upload``'s bucket and prefix; without it, the bucket ``AWS_S3_BUCKET`` names (the original's
    variable named a bucket alone) under the DAG's default prefix; None: no upload. An upload replaces
    the whole date, so one repository's rows cannot be one."""
    if url is not None:
        upload = Upload(*check_report_url(url), database)
    else:
        bucket = os.environ.get("AWS_S3_BUCKET", "")
        if not bucket:
            return None
        try:
            upload = Upload(check_bucket(bucket), DEFAULT_REPORT_PREFIX, database)
        except ValueError:
            raise ValueError(
                f"AWS_S3_BUCKET {bucket!r} is not an S3 bucket name (for a prefix: --upload s3://bucket/prefix)"
            ) from None
    if repository is not None:
        raise ValueError(
            f"--repository {repository!r} reports one repository, and an upload to s3://{upload.bucket}/"
            f"{upload.prefix} replaces the date's every repository: give one or the other"
        )
    return upload


@contextmanager
def _upload_folder(upload: Upload | None) -> Iterator[Path | None]:
    """Where each registry's canonical files wait for the upload; None without one."""
    if upload is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="ecr-report-upload-") as folder:
        yield Path(folder)


@contextmanager
def _logging_kept() -> Iterator[None]:
    """Importing Airflow sets up the process's logging for Airflow: the root logger's handlers,
    structlog printing to stdout, Python warnings and uncaught exceptions. The command keeps its own
    (every line on stderr, in ``--log-format``), and structlog's lines (Airflow's hooks log through
    it) go to the standard loggers, hence to the command's handler. A process that imported Airflow
    before (a test's, a DAG task's) keeps its set-up."""
    if "airflow" in sys.modules:
        yield
        return
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    showwarning, excepthook = warnings.showwarning, sys.excepthook
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        warnings.showwarning, sys.excepthook = showwarning, excepthook
        if "structlog" in sys.modules:
            import structlog

            structlog.configure(
                processors=[
                    structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.stdlib.render_to_log_kwargs,
                ],
                logger_factory=structlog.stdlib.LoggerFactory(),
                wrapper_class=structlog.stdlib.BoundLogger,
            )


def _publish_upload(
    parser: argparse.ArgumentParser,
    parts: dict[tuple[str, str], RegistryReport],
    registries: Sequence[OpenRegistry],
    upload: Upload,
    *,
    as_of: datetime,
    options: RegistryOptions,
    phases: PhaseTimes,
) -> None:
    """The upload, after the local files are in place. Airflow's amazon provider is imported only
    here: start-up is most of a small run's time."""
    with _logging_kept():
        from ecr_provider.console_upload import upload_reports
        from ecr_provider.hooks.report_lake import publication

    report_date = as_of.date().isoformat()
    try:
        published = upload_reports(
            parts,
            registries,
            bucket=upload.bucket,
            prefix=upload.prefix,
            report_date=report_date,
            as_of=as_of,
            include_findings=options.findings_max_age_days is not None,
            database=upload.database,
        )
    except (AwsCallError, ClientError, BotoCoreError) as error:
        parser.exit(
            1,
            f"ecr-report: error: upload to s3://{upload.bucket}/{upload.prefix} failed ({error}); the "
            "local files were written, and the date's previous state in the bucket stays visible\n",
        )
    phases.mark(UPLOAD)
    log.log(
        logging.INFO if published.superseded_by is None else logging.WARNING,
        "Uploaded %s to s3://%s/%s: %s; %d object(s) of other generations deleted",
        report_date,
        upload.bucket,
        published.manifest_key,
        publication(published),
        len(published.collected),
    )


def _log_report(
    report: RegistryReport,
    registries: Sequence[OpenRegistry],
    regions: Sequence[str],
    files: dict[str, Path],
    phases: PhaseTimes,
) -> None:
    tally = report.tally
    for (reader, _), region in zip(registries, regions, strict=True):
        log.info("ECR calls in %s: %s", region, reader.calls.summary())
    for skipped in report.skipped:
        log.warning("skipped repository %s: %s", skipped.name, skipped.reason)
    log.info(
        "%d repositories, %d images, USD %s per month -> %s",
        tally.repositories,
        tally.images,
        tally.as_dict()["monthly_cost_usd"],
        ", ".join(str(path) for path in files.values()),
    )
    log.info("phases: %s", phases.line())


def _write_report(
    registries: Sequence[OpenRegistry], folder: Path, csv_format: CsvFormat, phases: PhaseTimes
) -> RegistryReport:
    sink, interval = _progress_sink()
    return write_registry_report(
        registries,
        folder,
        csv_format=csv_format,
        progress=sink,
        progress_interval_seconds=interval,
        phases=phases,
    )


def run(argv: list[str] | None = None) -> int:
    phases = _phases()
    parser = _parser()
    args = parser.parse_args(argv)
    log_redaction.install()
    try:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_log_formatter(args.log_format, args.log_service_name))
        logging.basicConfig(level=_log_level(), handlers=[handler])
        csv_format = CsvFormat(args.decimal_separator, spreadsheet=True)
        export_format = check_export_format(args.format)
        now = datetime.now(UTC)
        as_of = check_as_of(args.as_of or now.isoformat(), now=now)
        values = {setting.name: getattr(args, setting.name) for setting in CONSOLE_SETTINGS}
        requested_regions, database = values.pop("regions"), check_database(values.pop("athena_database"))
        workload_roles = check_accounts(values.pop("workload_accounts"), "")
        options = replace(RegistryOptions.parse(**values), repository=_repository(args.repository))
        upload = _upload(args.upload, database, options.repository)
        session = boto3.Session()
        regions = check_regions(
            requested_regions or ([session.region_name] if session.region_name else []),
            ecr_regions_of(session),
        )
    except (ValueError, BotoCoreError) as error:
        parser.exit(2, f"ecr-report: error: {error}\n")
    try:
        with replaced_as_a_whole(args.output_dir) as staging, _upload_folder(upload) as upload_folder:
            try:
                with grouped_warnings("registries of this run"):
                    registries = _registries(session, regions, workload_roles, options, as_of=as_of)
                    report = _write_report(registries, staging.path, csv_format, phases)
            except (AwsCallError, ClientError, BotoCoreError) as error:
                parser.exit(1, f"ecr-report: error: {error}\n")
            if not args.no_html:
                write_html_report(report, staging.path, csv_format, as_of.date().isoformat())
                phases.mark(HTML)
            parts = (
                None
                if upload_folder is None
                else split_by_registry(report, registries, csv_format, upload_folder)
            )
            written = export_files(report.files, csv_format, export_format)
            staging.publish(remove=_misleading(written, args.no_html, report.findings_error is not None))
            if upload is not None and parts is not None:
                _publish_upload(
                    parser, parts, registries, upload, as_of=as_of, options=options, phases=phases
                )
    except FolderBusyError as error:
        parser.exit(1, f"ecr-report: error: {error}\n")
    phases.mark(OUTCOME)
    files = {name: args.output_dir / path.name for name, path in written.items()}
    _log_report(report, registries, regions, files, phases)
    if report.findings_error is not None:
        parser.exit(
            EXIT_FINDINGS_FAILED,
            f"ecr-report: error: {FINDINGS_REPORT}.csv not written ({report.findings_error}); "
            "the other reports were\n",
        )
    if report.findings is not None:
        log.info("%d vulnerability findings in %s", report.findings, files[FINDINGS_REPORT])
    elif (args.output_dir / f"{FINDINGS_REPORT}.csv").exists():
        log.warning(
            "%s is from an earlier run: without --include-findings it was not rewritten",
            args.output_dir / f"{FINDINGS_REPORT}.csv",
        )
    if not args.no_html:
        log.info("HTML report: %s", args.output_dir / HTML_NAME)
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
