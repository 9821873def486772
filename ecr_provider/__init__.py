"""Amazon ECR cost, vulnerability and usage reports for Apache Airflow."""

from __future__ import annotations

__version__ = "0.1.0"
