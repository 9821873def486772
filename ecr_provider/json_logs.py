"""One JSON object per log line, for log pipelines that index fields (the console command's
``--log-format json``), named by a service so one pipeline can tell several tools apart."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

DEFAULT_SERVICE = "ecr-report"


class JsonLogFormatter(logging.Formatter):
    """``timestamp`` (UTC, ISO-8601), ``level``, ``service``, ``logger``, ``message``, and
    ``exception`` when the record carries one."""

    def __init__(self, service: str = DEFAULT_SERVICE) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)
