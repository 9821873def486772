"""The console links the report and partition tasks offer, built from what they persisted."""

from __future__ import annotations

from ecr_provider.links.reports import AthenaQueryEditorLink, HtmlReportLink, ReportObjectsLink


def test_the_report_objects_link_opens_the_dates_partition_in_the_s3_console() -> None:
    link = ReportObjectsLink().format_link(
        region_name="eu-west-1",
        aws_domain=ReportObjectsLink.get_aws_domain("aws"),
        bucket="my-reports",
        prefix="ecr-reports/repositories_summary/report_date=2026-11-20/",
    )

    assert link == (
        "https://console.aws.amazon.com/s3/buckets/my-reports?region=eu-west-1"
        "&prefix=ecr-reports/repositories_summary/report_date=2026-11-20/"
    )


def test_the_athena_link_opens_the_query_editor_of_the_region_and_partition() -> None:
    link = AthenaQueryEditorLink().format_link(
        region_name="cn-north-1", aws_domain=AthenaQueryEditorLink.get_aws_domain("aws-cn")
    )

    assert link == "https://console.amazonaws.cn/athena/home?region=cn-north-1#/query-editor"


def test_the_html_report_link_opens_the_dates_page_in_the_s3_console() -> None:
    link = HtmlReportLink().format_link(
        region_name="eu-west-1",
        aws_domain=HtmlReportLink.get_aws_domain("aws"),
        bucket="my-reports",
        key="ecr-reports/_html/report_date=2026-11-20/report.html",
    )

    assert link == (
        "https://console.aws.amazon.com/s3/object/my-reports?region=eu-west-1"
        "&prefix=ecr-reports/_html/report_date=2026-11-20/report.html"
    )
