"""A client-side ceiling on the requests a report sends to one registry, so a report of a large
registry cannot take the account's API capacity from its production pulls and deploys."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class RequestRate:
    """At most ``per_second`` requests a second across every thread and client it is attached to,
    retries included (it paces each HTTP attempt, botocore's ``before-send``). A burst of one second's
    worth is allowed after a quiet spell."""

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_second > 0:
            raise ValueError(f"per_second must be a positive number of requests, got {per_second!r}")
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = per_second
        self._updated = clock()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self._before_send)

    def _before_send(self, **_: Any) -> None:
        self.wait()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.per_second, self._tokens + (now - self._updated) * self.per_second)
            self._updated = now
            self._tokens -= 1
            delay = -self._tokens / self.per_second if self._tokens < 0 else 0.0
        if delay:
            self._sleep(delay)
