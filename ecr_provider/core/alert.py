"""The one SNS message a run sends about repositories over threshold, within SNS's limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from ecr_provider.core.thresholds import Breach, BreachRecord

SUBJECT_LIMIT = 99
BODY_LIMIT_BYTES = 250_000
"""SNS allows 256 KiB for message plus attributes; the margin keeps room for the subject and envelope."""
_FOOTER_ROOM = 80


class BreachesRecord(TypedDict):
    """The run's repositories over threshold, from the sensor to the notifier, largest first."""

    run_id: str
    breaches: list[BreachRecord]


def not_yet_alerted(
    breaches: Sequence[Breach], marker: Mapping[str, Any] | None, *, force: bool
) -> list[Breach]:
    """The repositories an alert of the date has not named yet (all of them with ``force``). A marker
    of an older release names repositories without their account and region: matched by name."""
    if force or marker is None:
        return list(breaches)
    if "alerted" in marker:
        alerted = set(marker["alerted"])
        return [breach for breach in breaches if breach.identity not in alerted]
    named = set(marker.get("repositories", ()))
    return [breach for breach in breaches if breach.repository_name not in named]


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    message: str
    repositories: tuple[str, ...]
    omitted: int


def _line(breach: Breach) -> str:
    days = breach.days_since_last_pull
    pulled = {"": "never pulled", "0": "last pulled today"}.get(days, f"last pulled {days} days ago")
    return (
        f"- {breach.repository_name} ({breach.account_id} {breach.region}): "
        f"{breach.size_gb.quantize(Decimal('0.01'))} GB > threshold {breach.threshold_gb} GB, "
        f"USD {breach.monthly_cost_usd}/month, {pulled}"
    )


def _ascii_subject(text: str) -> str:
    flat = " ".join(text.split()).encode("ascii", "replace").decode("ascii")
    return flat[:SUBJECT_LIMIT]


def build_alert(
    breaches: Sequence[Breach],
    report_date: str,
    body_limit: int = BODY_LIMIT_BYTES,
    *,
    report_location: str | None = None,
) -> Alert:
    """``report_location``: where the date's HTML report is (``s3://…``), named on the message's last line."""
    if not breaches:
        raise ValueError("an alert needs at least one repository over threshold")
    count = len(breaches)
    noun = "repository is" if count == 1 else "repositories are"
    header = f"ECR report {report_date}: {count} {noun} over the storage threshold.\n\n"
    link = f"\nThe date's HTML report: {report_location}\n" if report_location else ""
    room = body_limit - len(header.encode()) - len(link.encode()) - _FOOTER_ROOM
    lines: list[str] = []
    for breach in breaches:
        line = _line(breach) + "\n"
        room -= len(line.encode())
        if room < 0:
            break
        lines.append(line)
    omitted = count - len(lines)
    footer = f"... and {omitted} more not listed (message size limit).\n" if omitted else ""
    subject = _ascii_subject(
        f"ECR report {report_date}: {count} {noun.split(maxsplit=1)[0]} over storage threshold"
    )
    return Alert(
        subject=subject,
        message=header + "".join(lines) + footer + link,
        repositories=tuple(b.repository_name for b in breaches[: len(lines)]),
        omitted=omitted,
    )
