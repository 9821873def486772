"""A run's report date and the as-of time its "days since" columns are measured to."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ecr_provider.core.units import utc

REPORT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AS_OF_CLOCK_SKEW = timedelta(minutes=5)


def run_dates(
    report_date: object, interval_end: datetime | None, run_after: datetime
) -> tuple[str, datetime]:
    """A run's report date (the ``report_date`` param, else the end of its data interval, else when it
    ran) and its as-of time: the date's start, 00:00 UTC, whichever run writes it, so a manual rerun of
    a date reproduces the scheduled run's "days since" instead of the wall clock of whoever clicked."""
    if report_date in (None, ""):
        date = utc(interval_end or run_after).date().isoformat()
    elif not isinstance(report_date, str) or not REPORT_DATE.match(report_date):
        raise ValueError(f"report_date {report_date!r} is not a date YYYY-MM-DD")
    else:
        date = report_date
    try:
        as_of = datetime.fromisoformat(date).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"report_date {report_date!r} is not a calendar date") from None
    if as_of > utc(run_after):
        raise ValueError(f"report_date {date!r} is in the future; reports describe the past")
    return date, as_of


def check_as_of(value: object, now: datetime) -> datetime:
    """The report's as-of time: ISO-8601 text or a datetime, in UTC, not in the future."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"as-of time {value!r} is not ISO-8601 (e.g. 2026-11-27T00:00:00Z)") from None
    moment = utc(moment)
    if moment > utc(now) + AS_OF_CLOCK_SKEW:
        raise ValueError(f"as-of time {value!r} is in the future; reports describe the past")
    return moment
