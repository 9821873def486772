"""Console links from the tasks to what they made: the date's report objects and HTML page in S3 and
the Athena query editor, the amazon provider's ``BaseAwsLink`` way (the values persist in XCom, the link is
built when the UI asks)."""

from __future__ import annotations

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink


class ReportObjectsLink(BaseAwsLink):
    """The report date's repositories summaries, one object per registry."""

    name = "Reports in S3"
    key = "_ecr_report_objects"
    format_str = BASE_AWS_CONSOLE_LINK + "/s3/buckets/{bucket}?region={region_name}&prefix={prefix}"


class HtmlReportLink(BaseAwsLink):
    """The date's HTML page, where the console can open or download it."""

    name = "HTML report in S3"
    key = "_ecr_report_html"
    format_str = BASE_AWS_CONSOLE_LINK + "/s3/object/{bucket}?region={region_name}&prefix={key}"


class AthenaQueryEditorLink(BaseAwsLink):
    """Athena's query editor in the region of the Glue database the date was registered in."""

    name = "Query in Athena"
    key = "_ecr_report_athena"
    format_str = BASE_AWS_CONSOLE_LINK + "/athena/home?region={region_name}#/query-editor"
