"""The alert names the date's HTML report on its last line, within the same size limit."""

from __future__ import annotations

from decimal import Decimal

from ecr_provider.core.alert import build_alert
from ecr_provider.core.layout import html_report_key
from ecr_provider.core.thresholds import Breach
from ecr_provider.core.units import GB

BREACH = Breach("team/api", "111111111111", "us-east-1", 12 * GB, Decimal(10), "1.2000", "3")
LOCATION = f"s3://reports/{html_report_key('ecr-reports', '2026-11-20')}"


def test_the_report_location_is_the_last_line_and_counts_against_the_limit() -> None:
    alert = build_alert([BREACH], "2026-11-20", report_location=LOCATION)

    assert LOCATION == "s3://reports/ecr-reports/_html/report_date=2026-11-20/report.html"
    assert alert.message.splitlines()[-1] == f"The date's HTML report: {LOCATION}"
    assert "team/api" in alert.message
    assert build_alert([BREACH], "2026-11-20").message == alert.message.rsplit("\n\n", 1)[0] + "\n"

    many = [BREACH] * 40
    tight = build_alert(many, "2026-11-20", body_limit=2000, report_location=LOCATION)
    assert len(tight.message.encode()) <= 2000
    assert tight.omitted >= build_alert(many, "2026-11-20", body_limit=2000).omitted > 0
    assert tight.message.endswith(f"{LOCATION}\n")
