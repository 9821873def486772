"""The console links the report, partition and page tasks offer, built from what they persisted."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.amazon.aws.links.base_aws import BaseAwsLink

from ecr_provider.links.reports import AthenaQueryEditorLink, HtmlReportLink, ReportObjectsLink


@pytest.mark.parametrize(
    ("link", "persisted", "url"),
    [
        (
            ReportObjectsLink(),
            {"prefix": "ecr-reports/repositories_summary/report_date=2026-11-20/"},
            "https://console.aws.amazon.com/s3/buckets/my-reports?region=eu-west-1"
            "&prefix=ecr-reports/repositories_summary/report_date=2026-11-20/",
        ),
        (
            HtmlReportLink(),
            {"key": "ecr-reports/_html/report_date=2026-11-20/report.html"},
            "https://console.aws.amazon.com/s3/object/my-reports?region=eu-west-1"
            "&prefix=ecr-reports/_html/report_date=2026-11-20/report.html",
        ),
    ],
    ids=["the date's reports", "the date's page"],
)
def test_the_s3_links_open_what_the_task_wrote_in_the_s3_console(
    link: BaseAwsLink, persisted: dict[str, Any], url: str
) -> None:
    built = link.format_link(
        region_name="eu-west-1", aws_domain=link.get_aws_domain("aws"), bucket="my-reports", **persisted
    )

    assert built == url


def test_the_athena_link_opens_the_query_editor_of_the_region_and_partition() -> None:
    link = AthenaQueryEditorLink().format_link(
        region_name="cn-north-1", aws_domain=AthenaQueryEditorLink.get_aws_domain("aws-cn")
    )

    assert link == "https://console.amazonaws.cn/athena/home?region=cn-north-1#/query-editor"
