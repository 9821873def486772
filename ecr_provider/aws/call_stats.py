"""Counts what a client really sent: calls per operation, attempts (retries included) and throttles."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "SlowDown"})


class CallStats:
    """Attach to a boto3 client; botocore's events make the count exact, whatever retries happen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        events = client.meta.events
        events.register(f"before-call.{service}", self._on_call, unique_id=f"call-stats-call-{id(self)}")
        events.register(
            f"needs-retry.{service}", self._on_attempt, unique_id=f"call-stats-attempt-{id(self)}"
        )

    def _on_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1

    def _on_attempt(self, response: Any, operation: Any, **_: Any) -> None:
        """``needs-retry`` follows every attempt; ``response`` is None when the connection failed."""
        code = response[1].get("Error", {}).get("Code", "") if response is not None else ""
        with self._lock:
            self.attempts[operation.name] += 1
            if code in THROTTLING_CODES:
                self.throttled[operation.name] += 1

    def as_dict(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                name: {
                    "calls": self.calls[name],
                    "retries": self.attempts[name] - self.calls[name],
                    "throttled": self.throttled[name],
                }
                for name in sorted(self.calls)
            }

    def summary(self) -> str:
        parts = []
        for name, counts in self.as_dict().items():
            extra = (
                f" ({counts['retries']} retries, {counts['throttled']} throttled)"
                if counts["retries"]
                else ""
            )
            parts.append(f"{name} {counts['calls']}{extra}")
        return ", ".join(parts) or "no calls"
