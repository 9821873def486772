"""Provider metadata that Airflow's ProvidersManager reads through the entry point."""

from __future__ import annotations

from typing import Any

from ecr_provider import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "ecr-report",
        "name": "Amazon ECR report",
        "description": "Cost, vulnerability and usage reports for Amazon ECR, loaded to S3 and Athena.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Amazon ECR report",
                "external-doc-url": "https://docs.aws.amazon.com/AmazonECR/latest/userguide/",
                "tags": ["aws"],
            }
        ],
        "operators": [
            {
                "integration-name": "Amazon ECR report",
                "python-modules": [
                    "ecr_provider.operators.base_lake",
                    "ecr_provider.operators.preflight",
                    "ecr_provider.operators.run_plan",
                    "ecr_provider.operators.usage",
                    "ecr_provider.operators.registry_report",
                    "ecr_provider.operators.athena_partitions",
                    "ecr_provider.operators.storage_threshold",
                    "ecr_provider.operators.threshold_notification",
                    "ecr_provider.operators.athena_named_queries",
                    "ecr_provider.operators.run_manifest",
                    "ecr_provider.operators.html_report",
                ],
            }
        ],
        "extra-links": [
            "ecr_provider.links.reports.ReportObjectsLink",
            "ecr_provider.links.reports.HtmlReportLink",
            "ecr_provider.links.reports.AthenaQueryEditorLink",
        ],
        "plugins": [{"name": "ecr_report", "plugin-class": "ecr_provider.plugins.ecr_page.EcrReportPlugin"}],
        "hooks": [
            {
                "integration-name": "Amazon ECR report",
                "python-modules": [
                    "ecr_provider.hooks.ecr_registry",
                    "ecr_provider.hooks.report_lake",
                    "ecr_provider.hooks.report_catalog",
                ],
            }
        ],
    }
