"""Where reports live in S3 (docs/reports.md): one object per report, date and (account, region)."""

from __future__ import annotations

import re
from datetime import date

from ecr_provider.core.columns import REPORTS

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTITION = re.compile(r"report_date=(\d{4}-\d{2}-\d{2})/$")


def check_report_date(report_date: str) -> str:
    if not _DATE.match(report_date):
        raise ValueError(f"report date {report_date!r} is not YYYY-MM-DD")
    date.fromisoformat(report_date)
    return report_date


def report_prefix(prefix: str, report: str) -> str:
    if report not in REPORTS:
        raise ValueError(f"unknown report {report!r}; known: {sorted(REPORTS)}")
    return f"{prefix}/{report}/" if prefix else f"{report}/"


def partition_prefix(prefix: str, report: str, report_date: str) -> str:
    return f"{report_prefix(prefix, report)}report_date={check_report_date(report_date)}/"


def report_date_of(partition: str) -> str | None:
    """``.../report_date=2026-11-27/`` -> ``2026-11-27``; None for anything else under the prefix."""
    match = _PARTITION.search(partition)
    return match.group(1) if match else None


def report_key(prefix: str, report: str, report_date: str, account_id: str, region: str) -> str:
    return f"{partition_prefix(prefix, report, report_date)}{account_id}-{region}.csv"


def table_location(bucket: str, prefix: str, report: str) -> str:
    return f"s3://{bucket}/{report_prefix(prefix, report)}"
