"""The provider's Airflow UI plugin: an ECR report page served by the api-server (see :mod:`.ecr_page`)."""

from __future__ import annotations

URL_PREFIX = "/ecr-report"
"""Where the page's FastAPI app is mounted on the api-server."""
