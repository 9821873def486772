"""How fast a report sends requests to one registry: at full speed until AWS throttles it, then paced
below the rate that was throttled and raised again while no throttling comes back; with an optional
hard ceiling for accounts whose production pulls and deploys must keep most of the API capacity."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecr_provider.aws.call_stats import THROTTLING_CODES

MIN_PACED_RATE = 1.0
"""Requests a second a throttled registry is never paced below: retries' own back-off does the rest."""


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


class ThrottlePacing:
    """Unpaced until AWS throttles a fifth of a registry's requests or more (of at least
    ``MIN_ATTEMPTS`` in an ``interval``); then paced at half the rate sent.

    While that share goes on, the pace is halved again at most once an ``interval``, as long as each
    halving keeps the requests answered (as under a quota: the answered rate stays while fewer are
    sent). A halving that cuts the answered rate with the sent one shows AWS refusing a share whatever
    the rate: the pace goes back to where it was and is not lowered for ``HOLD_INTERVALS``. Each
    ``interval`` under the share in which the pace held requests back doubles it; one in which it held
    none back ends it. Below the share, botocore's retries (each with its own back-off) absorb the
    throttles. Attached to a registry's clients, it sees every attempt: ``before-send`` waits for its
    slot, ``needs-retry`` (after every attempt) reports its error code.
    """

    DECREASE = 0.5
    INCREASE = 2.0
    THROTTLED_SHARE = 0.2
    MIN_ATTEMPTS = 20
    """Attempts in the last ``interval`` below which a share of throttles is not yet a share."""
    KEPT = 0.75
    """A halving kept the requests answered when the answered rate stayed above this share of what it was."""
    HOLD_INTERVALS = 10

    def __init__(
        self,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._throttles: deque[float] = deque()
        self._rate: float | None = None
        self._next_slot = 0.0
        self._changed = self._hold_until = -interval
        self._lowered_from: tuple[float | None, float] | None = None
        """The pace and the answered rate before the last change, when that change was a halving."""
        self._held_back = False
        self.backoffs = 0
        """How many times the pace was lowered."""
        self.paced_seconds = 0.0
        """Time requests spent waiting for their slot, summed over threads."""

    @property
    def rate(self) -> float | None:
        """Requests a second now allowed; None: unpaced."""
        return self._rate

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-send", self._before_send, unique_id=f"throttle-pacing-send-{id(self)}")
        service = client.meta.service_model.service_name
        events.register(
            f"needs-retry.{service}", self._after_attempt, unique_id=f"throttle-pacing-attempt-{id(self)}"
        )

    def _before_send(self, **_: Any) -> None:
        self.wait()

    def _after_attempt(self, response: Any, **_: Any) -> None:
        """``response`` is None when the connection failed: that says nothing about the rate."""
        if response is not None and response[1].get("Error", {}).get("Code", "") in THROTTLING_CODES:
            self.throttled()

    def throttled(self) -> None:
        with self._lock:
            now = self._clock()
            self._throttles.append(now)
            self._forget(now)
            if len(self._sent) < self.MIN_ATTEMPTS or self._share() < self.THROTTLED_SHARE:
                return
            if now < self._hold_until or (self._rate is not None and now - self._changed < self.interval):
                return
            sent, answered = self._per_second(now)
            if self._lowered_from is not None and answered < self.KEPT * self._lowered_from[1]:
                self._rate = self._lowered_from[0]
                self._lowered_from = None
                self._hold_until = now + self.HOLD_INTERVALS * self.interval
                self._changed = now
                return
            self._lowered_from = (self._rate, answered)
            self._rate = max(MIN_PACED_RATE, (sent if self._rate is None else self._rate) * self.DECREASE)
            self._next_slot = now
            self._changed = now
            self._held_back = False
            self.backoffs += 1

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            self._sent.append(now)
            self._forget(now)
            if (
                self._rate is not None
                and now - self._changed >= self.interval
                and self._share() < self.THROTTLED_SHARE
            ):
                self._rate = self._rate * self.INCREASE if self._held_back else None
                self._lowered_from = None
                self._changed = now
                self._held_back = False
            if self._rate is None:
                return
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1 / self._rate
            delay = slot - now
            if delay > 0:
                self._held_back = True
                self.paced_seconds += delay
        if delay > 0:
            self._sleep(delay)

    def _forget(self, now: float) -> None:
        """Sends and throttles older than the interval."""
        for times in (self._sent, self._throttles):
            while times and times[0] < now - self.interval:
                times.popleft()

    def _share(self) -> float:
        return len(self._throttles) / max(len(self._sent), 1)

    def _per_second(self, now: float) -> tuple[float, float]:
        """Requests sent and answered a second since the oldest throttle of the last ``interval``:
        what was answered before AWS began to throttle says nothing of what it answers now."""
        since = self._throttles[0] if self._throttles else now - self.interval
        sent = sum(1 for moment in reversed(self._sent) if moment >= since)
        span = max(now - since, self.interval / 20)
        return sent / span, (sent - len(self._throttles)) / span


@dataclass(frozen=True, slots=True)
class RegistryPace:
    """One pace for a registry's clients (the same account's quotas), under the hard ceiling if set;
    each client is attached when it is built, so a client an empty registry never needs is not."""

    pacing: ThrottlePacing
    ceiling: RequestRate | None

    def attach(self, client: Any) -> None:
        if self.ceiling is not None:
            self.ceiling.attach(client)
        self.pacing.attach(client)


def pace_registry(ceiling: float | None) -> RegistryPace:
    return RegistryPace(ThrottlePacing(), RequestRate(ceiling) if ceiling is not None else None)
