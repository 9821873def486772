"""``make demo``: the ``ecr_report`` DAG end to end against the local emulator, reports in ./reports/.

Starts the emulator with the demo registry in a child process, runs ``airflow dags test`` with a
SQLite metadata database under ``.airflow/``, then shows what a user would look at: the S3 objects,
the Athena partitions, the costliest repositories, the vulnerability findings and the SNS alert as
an SQS subscriber got it.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ecr_provider.aws.manifests import reporting_principal_arn
from ecr_provider.core.columns import FINDINGS_REPORT, IMAGES_REPORT, REPORTS, REPOSITORIES_REPORT
from ecr_provider.core.csv_format import SPREADSHEET, ReportCsvWriter, read_canonical
from ecr_provider.core.layout import (
    HTML_NAME,
    generation_prefix,
    html_report_key,
    partition_prefix,
    run_manifest_key,
)
from ecr_provider.core.records import SEVERITIES
from ecr_provider.core.settings import DEFAULTS
from ecr_provider.core.units import GB
from ecr_provider.plugins import URL_PREFIX
from emulator.destination import create_report_destination, receive_notifications
from emulator.preview import preview
from emulator.server import DUMMY_CREDENTIALS, client, emulator_process

REPO_ROOT = Path(__file__).resolve().parents[1]
LAKE = "lake"
PREVIEWED_QUERIES = (
    "costliest_repositories",
    "repositories_not_pulled",
    "potential_savings",
    "reclaimable_storage",
    "widespread_vulnerabilities",
)
REGION = "us-east-1"
REPORTS_DIR = REPO_ROOT / "reports"
"""The files to open (spreadsheet form) and, in ``lake/``, the S3 objects as they are."""
DEMO_HOME = REPO_ROOT / ".airflow"
"""The demo's AIRFLOW_HOME: its SQLite database and the logs of its runs."""
API_SERVER = os.environ.get("ECR_REPORT_API_SERVER", "http://localhost:8080")
"""Where ``airflow api-server`` listens (its default); the demo names the ECR page there if one answers."""
DEMO_SETTINGS: dict[str, Any] = {
    "regions": [REGION],
    "report_prefix": "ecr-reports",
    "athena_database": "ecr_reports",
    "storage_threshold_gb": 5,
    "repository_thresholds_gb": {"platform/*": 20},
    "include_findings": True,
}


def airflow_env(endpoint_url: str, home: Path = DEMO_HOME) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    connection = {"conn_type": "aws", "extra": {"endpoint_url": endpoint_url, "region_name": REGION}}
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    environment.update({name.upper(): value for name, value in DUMMY_CREDENTIALS.items()})
    environment.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        AIRFLOW_CONN_AWS_DEFAULT=json.dumps(connection),
        AWS_DEFAULT_REGION=REGION,
    )
    return environment


def run_dag(
    endpoint_url: str,
    report_date: str,
    conf: dict[str, Any],
    run: int,
    *,
    home: Path = DEMO_HOME,
    environment: Mapping[str, str | None] | None = None,
) -> str:
    """One ``airflow dags test`` run; its log (kept in ``home``) is returned for the call counts.

    ``environment`` changes the run's environment (``None`` unsets a name): another connection or log
    level. At DEBUG Airflow's in-process supervisor logs each message a task sends it, mask requests
    included: the provider's log redaction keeps their values (connection secrets) out of this log."""
    environ = airflow_env(endpoint_url, home)
    for name, value in (environment or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    airflow = str(Path(sys.executable).with_name("airflow"))
    log_path = home / f"demo-dag-test-{run}.log"
    with log_path.open("w") as log:
        subprocess.run([airflow, "db", "migrate"], env=environ, stdout=log, stderr=log, check=True)
        result = subprocess.run(
            [airflow, "dags", "test", "ecr_report", report_date, "--conf", json.dumps(conf)],
            env=environ,
            stdout=log,
            stderr=log,
            check=False,
        )
    if result.returncode != 0:
        print(log_path.read_text()[-6000:], file=sys.stderr)
        raise SystemExit(f"the ecr_report DAG failed (exit {result.returncode}); full log: {log_path}")
    return log_path.read_text()


def manifest_reads(log: str) -> int:
    """BatchGetImage calls as the report task logged them (``ECR calls: BatchGetImage 39, ...``)."""
    found = re.search(r"ECR calls: .*?BatchGetImage (\d+)", log)
    return int(found.group(1)) if found else 0


def exclude_reporting_principal(endpoint_url: str) -> str:
    """docs/reports.md's one-time step: exclude the reporting identity from pull-time updates, so the
    report may read manifests (unique-blob storage) without making every image look pulled."""
    principal = reporting_principal_arn(client("sts", endpoint_url, REGION))
    client("ecr", endpoint_url, REGION).register_pull_time_update_exclusion(principalArn=principal)
    return principal


def show_storage(rows: list[dict[str, str]]) -> None:
    image_sizes = sum(int(row["totalSizeBytes"]) for row in rows)
    unique_blobs = sum(int(row["billableSizeBytes"]) for row in rows)
    cost = sum(Decimal(row["monthlyStorageCost(USD)"]) for row in rows)
    naive_cost = sum(
        Decimal(row["totalSizeBytes"]) / GB * Decimal(row["pricePerGbMonth(USD)"]) for row in rows
    )
    print("\nStorage of the registry:")
    for label, size, usd in (
        ("sum of image sizes (what others report)", image_sizes, naive_cost),
        ("unique blobs (what ECR bills)", unique_blobs, cost),
        ("overstatement avoided", image_sizes - unique_blobs, naive_cost - cost),
    ):
        print(f"  {label:<40} {size / GB:8.2f} GB, USD {usd:.4f}/month")


def show_findings(findings: list[dict[str, str]]) -> None:
    images = {(row["repositoryName"], row["imageDigest"]) for row in findings}
    by_severity = Counter(row["severity"] for row in findings)
    counts = ", ".join(f"{by_severity[severity]} {severity.lower()}" for severity in SEVERITIES)
    print(
        f"\nimage_findings: {len(findings)} findings in {len(images)} images pushed or pulled within "
        f"{DEFAULTS['findings_max_age_days']} days ({counts})"
    )


def show_usage(images: list[dict[str, str]]) -> None:
    """The images in use that pull time alone would have deleted, and what is reclaimable."""
    days = DEFAULTS["reclaim_after_days"]
    misleading = [
        row
        for row in images
        if row["inUse"] == "true" and (not row["daysSinceLastPull"] or int(row["daysSinceLastPull"]) > days)
    ]
    verdicts = Counter((row["cleanupVerdict"], row["cleanupReason"]) for row in images)
    print(
        f"\nImages in use: {sum(row['inUse'] == 'true' for row in images)} of {len(images)}; in use "
        f"although not pulled for over {days} days (pull time alone would delete them): {len(misleading)}"
    )
    for row in misleading:
        tags = ",".join(json.loads(row["imageTags"])) or row["imageDigest"][:19]
        pulled = f"{row['daysSinceLastPull']} days ago" if row["daysSinceLastPull"] else "never"
        print(f"  {row['repositoryName']}:{tags}  last pulled {pulled}, used by {row['inUseBy']}")
    print("Cleanup verdicts: " + ", ".join(f"{n} {v} ({r})" for (v, r), n in sorted(verdicts.items())))


def download_reports(
    endpoint_url: str, bucket: str, report_date: str, out: Path = REPORTS_DIR
) -> dict[str, list[str]]:
    """The date's visible generation mirrored in ./reports/lake/ (what Athena reads, one folder per
    date), and one file per report
    to open in ./reports/, in the spreadsheet form: a finding field such as ``=HYPERLINK(...)`` is text."""
    s3 = client("s3", endpoint_url, REGION)
    generation = visible_generation(endpoint_url, bucket, report_date)
    keys: dict[str, list[str]] = {}
    for report, columns in REPORTS.items():
        prefix = generation_prefix(DEMO_SETTINGS["report_prefix"], report, report_date, generation)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
        keys[report] = [item["Key"] for page in pages for item in page.get("Contents", ())]
        mirror = lake_partition(report, report_date, out)
        mirror.mkdir(parents=True, exist_ok=True)
        with (out / f"{report}.csv").open("w", encoding="utf-8", newline="") as target:
            writer = ReportCsvWriter(target, columns, SPREADSHEET)
            for key in keys[report]:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                (mirror / key.rsplit("/", 1)[1]).write_bytes(body)
                for row in read_canonical(io.StringIO(body.decode("utf-8"), newline="")):
                    writer.write([row[column.header] for column in columns])
    return keys


def visible_generation(endpoint_url: str, bucket: str, report_date: str) -> str | None:
    """The generation the date's run manifest makes visible (what Athena and the pages read); None
    without a manifest or for a date written before generations."""
    s3 = client("s3", endpoint_url, REGION)
    key = run_manifest_key(DEMO_SETTINGS["report_prefix"], report_date)
    try:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
    generation: str | None = manifest.get("generation")
    return generation


def lake_partition(report: str, report_date: str, out: Path = REPORTS_DIR) -> Path:
    """Where ./reports/lake/ mirrors a report date's objects."""
    prefix = partition_prefix(DEMO_SETTINGS["report_prefix"], report, report_date)
    return out / LAKE / prefix.split("/", 1)[1]


def lake_rows(report: str, report_date: str, out: Path = REPORTS_DIR) -> list[dict[str, str]]:
    """A report date's rows as its objects in ./reports/lake/ hold them, exactly."""
    rows: list[dict[str, str]] = []
    for path in sorted(lake_partition(report, report_date, out).glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows.extend(read_canonical(handle))
    return rows


def download_html(endpoint_url: str, bucket: str, report_date: str) -> Path:
    """The page the DAG's html_report task wrote beside the CSVs, as ./reports/report.html."""
    key = html_report_key(DEMO_SETTINGS["report_prefix"], report_date)
    body = client("s3", endpoint_url, REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    path = REPORTS_DIR / HTML_NAME
    path.write_bytes(body)
    return path


def api_server_page(report_date: str) -> str | None:
    """The ECR page's URL when an Airflow api-server answers at :data:`API_SERVER`; None otherwise."""
    try:
        with urllib.request.urlopen(f"{API_SERVER}/api/v2/monitor/health", timeout=2):
            pass
    except OSError:
        return None
    return f"{API_SERVER}{URL_PREFIX}/?date={report_date}"


def show_queries(lake: Path) -> None:
    """Three of the shipped Athena queries, run on DuckDB over the same files Athena would read."""
    for name in PREVIEWED_QUERIES:
        columns, rows = preview(lake, name, limit=5)
        print(f"\nAthena named query ecr_report.{name} (first rows, on DuckDB):")
        print("  " + " | ".join(columns))
        for row in rows:
            print("  " + " | ".join("" if value is None else str(value) for value in row))


def show(endpoint_url: str, bucket: str, report_date: str, queue_url: str) -> None:
    keys = download_reports(endpoint_url, bucket, report_date)
    print("\nReports in S3:")
    for report_keys in keys.values():
        for key in report_keys:
            print(f"  s3://{bucket}/{key}")
    glue = client("glue", endpoint_url, REGION)
    print("\nAthena (Glue) partitions:")
    for report in keys:
        for partition in glue.get_partitions(DatabaseName=DEMO_SETTINGS["athena_database"], TableName=report)[
            "Partitions"
        ]:
            print(f"  {DEMO_SETTINGS['athena_database']}.{report} report_date={partition['Values'][0]}")
    rows = lake_rows(REPOSITORIES_REPORT, report_date)
    show_storage(rows)
    show_findings(lake_rows(FINDINGS_REPORT, report_date))
    show_usage(lake_rows(IMAGES_REPORT, report_date))
    costliest = sorted(rows, key=lambda row: Decimal(row["monthlyStorageCost(USD)"]), reverse=True)[:5]
    print(f"\nFive costliest of {len(rows)} repositories (USD per month):")
    for row in costliest:
        print(
            f"  {row['monthlyStorageCost(USD)']:>9}  {row['repositoryName']:<34} "
            f"{int(row['billableSizeBytes']) / GB:7.2f} GB billable ({row['costBasis']}), "
            f"last pull: {row['daysSinceLastPull'] or 'never'} days ago"
        )
    show_queries(REPORTS_DIR / LAKE)
    notifications = receive_notifications(endpoint_url, REGION, queue_url)
    print(f"\nSNS notifications received by the SQS subscriber: {len(notifications)}")
    for envelope in notifications:
        print(f"  Subject: {envelope['Subject']}")
        for line in envelope["Message"].splitlines():
            print(f"    {line}")
    print(f"\nOpen the reports in {REPORTS_DIR}: " + ", ".join(f"{report}.csv" for report in REPORTS))
    print(f"HTML report (opens offline): {download_html(endpoint_url, bucket, report_date)}")
    page = api_server_page(report_date)
    started = "" if page else f" (no api-server answers at {API_SERVER}: start 'airflow api-server')"
    print(f"ECR page in the Airflow UI: {page or API_SERVER + URL_PREFIX + '/'}{started}")


def main() -> None:
    started = time.monotonic()
    as_of = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    report_date = as_of.date().isoformat()
    with emulator_process("--seed-demo", "--as-of", as_of.isoformat()) as endpoint_url:
        destination = create_report_destination(endpoint_url, REGION)
        conf = {**DEMO_SETTINGS, "report_bucket": destination.bucket, "sns_topic_arn": destination.topic_arn}
        principal = exclude_reporting_principal(endpoint_url)
        print(f"Emulator at {endpoint_url}; {principal} excluded from pull-time updates", flush=True)
        print(f"Running the ecr_report DAG for {report_date} ...", flush=True)
        first = manifest_reads(run_dag(endpoint_url, report_date, conf, run=1))
        print("Running it again for the same date (a retry or a rerun) ...", flush=True)
        second = manifest_reads(run_dag(endpoint_url, report_date, conf, run=2))
        print(f"BatchGetImage calls: {first} on the first run, {second} on the rerun (manifest cache in S3)")
        show(endpoint_url, destination.bucket, report_date, destination.queue_url)
    print(f"\nDemo finished in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
