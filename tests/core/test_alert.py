"""The SNS alert: one message listing breaches, within SNS's subject and size limits."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ecr_provider.core.alert import build_alert
from ecr_provider.core.thresholds import Breach
from ecr_provider.core.units import GB

SNS_MESSAGE_LIMIT = 256 * 1024
FOOTER = re.compile(r"\.\.\. and (\d+) more not listed")


def breach(name: str, size_bytes: int, days: str = "12", threshold: str = "50") -> Breach:
    return Breach(
        repository_name=name,
        account_id="123456789012",
        region="eu-west-1",
        billable_size_bytes=size_bytes,
        threshold_gb=Decimal(threshold),
        monthly_cost_usd="6.0000",
        days_since_last_pull=days,
    )


def many(count: int) -> list[Breach]:
    return [
        breach(f"team-{i:05d}/service-with-a-long-name", 60 * GB + i, days=str(i % 400)) for i in range(count)
    ]


def assert_subject_is_valid(subject: str) -> None:
    assert subject.isascii()
    assert len(subject) < 100
    assert "\n" not in subject
    assert "\r" not in subject


def test_single_breach_message() -> None:
    alert = build_alert([breach("team-a/api", 60 * GB + GB // 4)], "2026-11-27")

    assert alert.subject == "ECR report 2026-11-27: 1 repository over storage threshold"
    assert_subject_is_valid(alert.subject)
    assert alert.repositories == ("team-a/api",)
    assert alert.omitted == 0
    assert alert.message.startswith("ECR report 2026-11-27: 1 repository is over the storage threshold.")
    line = next(line for line in alert.message.splitlines() if "team-a/api" in line)
    assert "123456789012" in line
    assert "eu-west-1" in line
    assert "60.25 GB" in line
    assert "threshold 50 GB" in line
    assert "USD 6.0000/month" in line
    assert "12 days" in line
    assert "more not listed" not in alert.message


def test_body_lists_every_repository_with_its_figures() -> None:
    breaches = [
        breach("big", 120 * GB, days="3", threshold="100"),
        breach("never", 70 * GB, days=""),
        breach("medium", 55 * GB, days="400"),
    ]

    alert = build_alert(breaches, "2026-11-27")

    assert alert.subject == "ECR report 2026-11-27: 3 repositories over storage threshold"
    assert alert.repositories == ("big", "never", "medium")
    lines = [line for line in alert.message.splitlines() if line.startswith("- ")]
    assert len(lines) == 3
    assert lines[0].startswith("- big ")
    assert "120.00 GB" in lines[0]
    assert "threshold 100 GB" in lines[0]
    assert "3 days" in lines[0]
    assert "never pulled" in lines[1]
    assert "70.00 GB" in lines[1]
    assert "400 days" in lines[2]
    assert all("USD 6.0000/month" in line for line in lines)


@pytest.mark.parametrize(
    "report_date",
    [
        "2026-11-27\u00e9\u4e2d\u6587",
        "2026-11-27\nSubject: injected\r\n",
        "\u00fc" * 300,
    ],
)
def test_subject_is_ascii_single_line_and_short(report_date: str) -> None:
    alert = build_alert([breach("x", 60 * GB)], report_date)

    assert_subject_is_valid(alert.subject)
    assert alert.subject.startswith("ECR report ")


def test_five_thousand_breaches_fit_in_one_sns_message() -> None:
    breaches = many(5000)

    alert = build_alert(breaches, "2026-11-27")

    size = len(alert.message.encode("utf-8")) + len(alert.subject.encode("utf-8"))
    assert size < SNS_MESSAGE_LIMIT
    assert_subject_is_valid(alert.subject)
    assert "5000 repositories" in alert.subject
    listed = [line for line in alert.message.splitlines() if line.startswith("- ")]
    assert 0 < len(listed) < 5000
    assert len(alert.repositories) == len(listed)
    last_line = alert.message.rstrip("\n").splitlines()[-1]
    footer = FOOTER.match(last_line)
    assert footer is not None, last_line
    assert int(footer.group(1)) == alert.omitted
    assert alert.omitted + len(listed) == 5000
    # the ones listed are the first (largest) ones, in order
    assert alert.repositories == tuple(b.repository_name for b in breaches[: len(listed)])


def test_small_body_limit_omits_an_exact_count() -> None:
    breaches = [breach(f"repo-{i}", 60 * GB) for i in range(10)]
    full = build_alert(breaches, "2026-11-27")
    header = full.message.split("\n\n", 1)[0] + "\n\n"
    line_bytes = [
        len(line.encode()) for line in full.message.splitlines(keepends=True) if line.startswith("- ")
    ]
    assert len(line_bytes) == 10
    # room for exactly three lines (build_alert keeps 80 bytes for the footer)
    limit = len(header.encode()) + 80 + sum(line_bytes[:3])

    alert = build_alert(breaches, "2026-11-27", body_limit=limit)

    assert alert.repositories == ("repo-0", "repo-1", "repo-2")
    assert alert.omitted == 7
    assert alert.message.rstrip("\n").splitlines()[-1].startswith("... and 7 more not listed")
    assert len(alert.message.encode()) <= limit

    one_byte_less = build_alert(breaches, "2026-11-27", body_limit=limit - 1)
    assert one_byte_less.repositories == ("repo-0", "repo-1")
    assert one_byte_less.omitted == 8


def test_no_breaches_no_alert() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_alert([], "2026-11-27")
