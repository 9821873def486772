"""Every S3 key of the report lake, and the report date that names its partitions: the one place the
layout is written, so readers and writers cannot drift apart (docs/reports.md says what each holds).

    {prefix}/{report}/report_date=YYYY-MM-DD/{account}-{region}.csv      one object per report and registry
    {prefix}/_runs/report_date=YYYY-MM-DD/preflight.json                 what the run checked before reading
    {prefix}/_runs/report_date=YYYY-MM-DD/plan.json                      the run plan
    {prefix}/_runs/report_date=YYYY-MM-DD/outcomes/{task}.json           each report task's outcomes
    {prefix}/_runs/report_date=YYYY-MM-DD/usage/{registry}/{source}.json  what a source runs of a registry
    {prefix}/_runs/report_date=YYYY-MM-DD/usage/_unknown/{source}.json    a source whose use is unknown
    {prefix}/_runs/report_date=YYYY-MM-DD/manifest.json                  the run manifest
    {prefix}/_notifications/report_date=YYYY-MM-DD/breaches.json         the run's repositories over threshold
    {prefix}/_notifications/report_date=YYYY-MM-DD/alert.json            what the date's alerts named
    {prefix}/_notifications/report_date=YYYY-MM-DD/claims/{alert}.json   one alert claimed before it is sent
    {prefix}/_html/report_date=YYYY-MM-DD/report.html                    the date's page
    {prefix}/_manifest_cache/v1/{account}/{region}/{repository}/_segments/   the manifest cache

Records live under directories starting with ``_``, outside the report tables' locations, so Athena
never reads them as rows.
"""

from __future__ import annotations

import re
from datetime import date

from ecr_provider.core.columns import REPORTS
from ecr_provider.core.records import Repository

DEFAULT_REPORT_PREFIX = "ecr-reports"
PARTITION_KEY = "report_date"
"""The partition column of every report table, and the ``{PARTITION_KEY}=YYYY-MM-DD/`` of every key."""
_DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
_DATE = re.compile(rf"^{_DATE_PATTERN}$")
_PARTITION = re.compile(rf"{PARTITION_KEY}=({_DATE_PATTERN})/$")

RUNS_DIRECTORY = "_runs"
NOTIFICATIONS_DIRECTORY = "_notifications"
HTML_DIRECTORY = "_html"
CACHE_DIRECTORY = "_manifest_cache/v1"
PREFLIGHT_NAME = "preflight.json"
PLAN_NAME = "plan.json"
OUTCOMES_DIRECTORY = "outcomes"
USAGE_DIRECTORY = "usage"
UNKNOWN_USAGE_DIRECTORY = "_unknown"
MANIFEST_NAME = "manifest.json"
BREACHES_NAME = "breaches.json"
MARKER_NAME = "alert.json"
CLAIMS_DIRECTORY = "claims"
HTML_NAME = "report.html"
SEGMENTS = "_segments"


def check_report_date(report_date: str) -> str:
    if not _DATE.match(report_date):
        raise ValueError(f"report date {report_date!r} is not YYYY-MM-DD")
    try:
        date.fromisoformat(report_date)
    except ValueError as error:
        raise ValueError(f"report date {report_date!r} is not a calendar date ({error})") from None
    return report_date


def report_date_of(partition: str) -> str | None:
    """``.../report_date=2026-11-27/`` -> ``2026-11-27``; None for anything else under the prefix."""
    match = _PARTITION.search(partition)
    return match.group(1) if match else None


def _under(prefix: str, directory: str) -> str:
    return f"{prefix}/{directory}/" if prefix else f"{directory}/"


def _dated(base: str, report_date: str) -> str:
    return f"{base}{PARTITION_KEY}={check_report_date(report_date)}/"


# -- the reports: one table each in Athena -------------------------------------------------------


def report_prefix(prefix: str, report: str) -> str:
    if report not in REPORTS:
        raise ValueError(f"unknown report {report!r}; known: {sorted(REPORTS)}")
    return _under(prefix, report)


def partition_prefix(prefix: str, report: str, report_date: str) -> str:
    return _dated(report_prefix(prefix, report), report_date)


def report_key(prefix: str, report: str, report_date: str, account_id: str, region: str) -> str:
    return f"{partition_prefix(prefix, report, report_date)}{account_id}-{region}.csv"


def table_location(bucket: str, prefix: str, report: str) -> str:
    return f"s3://{bucket}/{report_prefix(prefix, report)}"


# -- records about a date ------------------------------------------------------------------------


def runs_prefix(prefix: str) -> str:
    """Where the dates' run records are, one ``report_date=`` partition each."""
    return _under(prefix, RUNS_DIRECTORY)


def date_record_key(prefix: str, directory: str, report_date: str, name: str) -> str:
    """``{prefix}/{directory}/report_date=YYYY-MM-DD/{name}``: a record about a date."""
    return f"{_dated(_under(prefix, directory), report_date)}{name}"


def preflight_key(prefix: str, report_date: str) -> str:
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, PREFLIGHT_NAME)


def plan_key(prefix: str, report_date: str) -> str:
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, PLAN_NAME)


def outcomes_prefix(prefix: str, report_date: str) -> str:
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, f"{OUTCOMES_DIRECTORY}/")


def outcomes_key(prefix: str, report_date: str, task: int) -> str:
    """The outcomes of the report task with map index ``task`` (0 for an unmapped one)."""
    return f"{outcomes_prefix(prefix, report_date)}{max(task, 0):05d}.json"


def usage_group_prefix(prefix: str, report_date: str, account_id: str, region: str) -> str:
    """Where every source's use of the registry ``{account_id}-{region}`` is."""
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, f"{USAGE_DIRECTORY}/{account_id}-{region}/")


def usage_group_key(prefix: str, report_date: str, registry: tuple[str, str], source: tuple[str, str]) -> str:
    """What the source (account, region) runs of the registry (account, region)."""
    return f"{usage_group_prefix(prefix, report_date, *registry)}{source[0]}-{source[1]}.json"


def unknown_usage_prefix(prefix: str, report_date: str) -> str:
    return date_record_key(
        prefix, RUNS_DIRECTORY, report_date, f"{USAGE_DIRECTORY}/{UNKNOWN_USAGE_DIRECTORY}/"
    )


def unknown_usage_key(prefix: str, report_date: str, source: tuple[str, str]) -> str:
    return f"{unknown_usage_prefix(prefix, report_date)}{source[0]}-{source[1]}.json"


def run_manifest_key(prefix: str, report_date: str) -> str:
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, MANIFEST_NAME)


def breaches_key(prefix: str, report_date: str) -> str:
    return date_record_key(prefix, NOTIFICATIONS_DIRECTORY, report_date, BREACHES_NAME)


def notification_marker_key(prefix: str, report_date: str) -> str:
    return date_record_key(prefix, NOTIFICATIONS_DIRECTORY, report_date, MARKER_NAME)


def alert_claim_key(prefix: str, report_date: str, alert_id: str) -> str:
    return date_record_key(
        prefix, NOTIFICATIONS_DIRECTORY, report_date, f"{CLAIMS_DIRECTORY}/{alert_id}.json"
    )


def html_report_key(prefix: str, report_date: str) -> str:
    """Fixed, so the alert can name the page before it is written."""
    return date_record_key(prefix, HTML_DIRECTORY, report_date, HTML_NAME)


# -- the manifest cache --------------------------------------------------------------------------


def cache_prefix(prefix: str, repository: Repository) -> str:
    """``{prefix}/_manifest_cache/v1/{account}/{region}/{repository}/_segments/``.

    No repository name has a path component starting with ``_`` (ECR's name pattern), so one
    repository's segments never fall under another's prefix (``team`` vs ``team/api``).
    """
    base = f"{prefix}/{CACHE_DIRECTORY}" if prefix else CACHE_DIRECTORY
    return f"{base}/{repository.account_id}/{repository.region}/{repository.name}/{SEGMENTS}/"
