"""Every S3 key of the report lake, and the report date that names its partitions: the one place the
layout is written, so readers and writers cannot drift apart (docs/reports.md says what each holds).

    {prefix}/{report}/report_date=YYYY-MM-DD/generation=G/{account}-{region}.csv
                                                                         one object per report and registry
    {prefix}/_runs/report_date=YYYY-MM-DD/preflight.json                 what the run checked before reading
    {prefix}/_runs/report_date=YYYY-MM-DD/in_progress.json               a run of the date is writing G
    {prefix}/_runs/report_date=YYYY-MM-DD/plan.json                      the run plan
    {prefix}/_runs/report_date=YYYY-MM-DD/outcomes/{task}.json           each report task's outcomes
    {prefix}/_runs/report_date=YYYY-MM-DD/usage/{registry}/{source}.json  what a source runs of a registry
    {prefix}/_runs/report_date=YYYY-MM-DD/usage/_unknown/{source}.json    a source whose use is unknown
    {prefix}/_runs/report_date=YYYY-MM-DD/usage/_eks/{source}.json        a source's EKS clusters, read or not
    {prefix}/_runs/report_date=YYYY-MM-DD/generation=G/manifest.json     the manifest of the run writing G
    {prefix}/_runs/report_date=YYYY-MM-DD/manifest.json                  the date's visible manifest
    {prefix}/_notifications/report_date=YYYY-MM-DD/generation=G/breaches.json   G's breaches
    {prefix}/_notifications/report_date=YYYY-MM-DD/alert.json            what the date's alerts named
    {prefix}/_notifications/report_date=YYYY-MM-DD/claims/{alert}.json   one alert claimed before it is sent
    {prefix}/_html/report_date=YYYY-MM-DD/report.html                    the date's page
    {prefix}/_manifest_cache/v1/{account}/{region}/{repository}/_segments/   the manifest cache

Each run of a date writes its objects under a generation of its own, ``G``, named in its plan; the
date's visible manifest names the generation readers (the Glue partitions, the pages, the next run's
trend) read. Objects of dates written before generations sit directly under ``report_date=``: a
manifest without a generation means those. The usage records are the run's, outside every
generation: each names its run and the generation it planned, whose report tasks join only theirs,
and no collection deletes them.

Records live under directories starting with ``_``, outside the report tables' locations, so Athena
never reads them as rows.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta

from ecr_provider.core.columns import REPORTS
from ecr_provider.core.records import Repository

DEFAULT_REPORT_PREFIX = "ecr-reports"
PARTITION_KEY = "report_date"
"""The partition column of every report table, and the ``{PARTITION_KEY}=YYYY-MM-DD/`` of every key."""
_DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
_DATE = re.compile(rf"^{_DATE_PATTERN}$")
_PARTITION = re.compile(rf"{PARTITION_KEY}=({_DATE_PATTERN})/$")
GENERATION_KEY = "generation"
_GENERATION = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
_STAMP = "%Y%m%dT%H%M%SZ"
_STAMP_LENGTH = len("20261120T000000Z")
_SECOND = timedelta(seconds=1)

RUNS_DIRECTORY = "_runs"
NOTIFICATIONS_DIRECTORY = "_notifications"
HTML_DIRECTORY = "_html"
CACHE_DIRECTORY = "_manifest_cache/v1"
PREFLIGHT_NAME = "preflight.json"
PLAN_NAME = "plan.json"
OUTCOMES_DIRECTORY = "outcomes"
USAGE_DIRECTORY = "usage"
UNKNOWN_USAGE_DIRECTORY = "_unknown"
EKS_USAGE_DIRECTORY = "_eks"
MANIFEST_NAME = "manifest.json"
IN_PROGRESS_NAME = "in_progress.json"
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


def new_generation(now: datetime, *, after: str | None = None) -> str:
    """A run's generation: its start time first, so generations sort by age, and random bits, so two
    runs started in the same second never share one. ``after``, the date's newest generation known
    (its in-progress mark or visible one), is passed by a second when ``now`` does not pass it (the
    same second, or a slower clock): a run begun later always sorts after it, so what an earlier,
    killed run left is always older."""
    if after is not None:
        now = max(now, datetime.strptime(after[:_STAMP_LENGTH], _STAMP).replace(tzinfo=UTC) + _SECOND)
    return f"{now:{_STAMP}}-{secrets.token_hex(4)}"


def check_generation(generation: str) -> str:
    if not isinstance(generation, str) or not _GENERATION.match(generation):
        raise ValueError(f"generation {generation!r} is not YYYYMMDDTHHMMSSZ-xxxxxxxx")
    return generation


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


def generation_prefix(prefix: str, report: str, report_date: str, generation: str | None) -> str:
    """Where one generation of a report date is: the Glue partition's location. ``None``: the objects
    of a date written before generations, directly under the partition."""
    base = partition_prefix(prefix, report, report_date)
    return base if generation is None else f"{base}{GENERATION_KEY}={check_generation(generation)}/"


def generation_of(key: str, partition: str) -> str | None:
    """The generation of an object listed under ``partition`` (``partition_prefix``); None for an
    object written before generations."""
    rest = key.removeprefix(partition)
    head, slash, _ = rest.partition("/")
    return head.removeprefix(f"{GENERATION_KEY}=") if slash else None


def report_key(
    prefix: str, report: str, report_date: str, account_id: str, region: str, *, generation: str | None
) -> str:
    return f"{generation_prefix(prefix, report, report_date, generation)}{account_id}-{region}.csv"


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
    return _usage_records(prefix, report_date, UNKNOWN_USAGE_DIRECTORY)


def unknown_usage_key(prefix: str, report_date: str, source: tuple[str, str]) -> str:
    return f"{unknown_usage_prefix(prefix, report_date)}{source[0]}-{source[1]}.json"


def eks_usage_prefix(prefix: str, report_date: str) -> str:
    return _usage_records(prefix, report_date, EKS_USAGE_DIRECTORY)


def eks_usage_key(prefix: str, report_date: str, source: tuple[str, str]) -> str:
    """Written only for a source with EKS clusters, or whose cluster listing was refused."""
    return f"{eks_usage_prefix(prefix, report_date)}{source[0]}-{source[1]}.json"


def _usage_records(prefix: str, report_date: str, directory: str) -> str:
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, f"{USAGE_DIRECTORY}/{directory}/")


def in_progress_key(prefix: str, report_date: str) -> str:
    """Written when a run starts, removed when its manifest task ends."""
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, IN_PROGRESS_NAME)


def run_manifest_key(prefix: str, report_date: str) -> str:
    """The date's visible manifest: the one pointer readers follow to a generation."""
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, MANIFEST_NAME)


def generation_manifest_key(prefix: str, report_date: str, generation: str) -> str:
    """The manifest of the run that wrote ``generation``, visible or not: what a failed run loaded and
    what failed."""
    name = f"{GENERATION_KEY}={check_generation(generation)}/{MANIFEST_NAME}"
    return date_record_key(prefix, RUNS_DIRECTORY, report_date, name)


def breaches_key(prefix: str, report_date: str, generation: str | None) -> str:
    """The breaches the run writing ``generation`` decided (None: one written before generations), so
    the page shows those of the date's visible run whatever a later run of the date did."""
    name = (
        BREACHES_NAME
        if generation is None
        else f"{GENERATION_KEY}={check_generation(generation)}/{BREACHES_NAME}"
    )
    return date_record_key(prefix, NOTIFICATIONS_DIRECTORY, report_date, name)


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
