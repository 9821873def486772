"""Progress of a registry read: repositories done of total, images so far and the rate, at an interval.

The clock is injected so the pacing is testable; what to do with a line (log it, draw a bar) is
the caller's choice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ProgressState:
    repositories_done: int
    repositories_total: int
    images: int
    elapsed_seconds: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.repositories_done}/{self.repositories_total} repositories, {self.images} images, "
            f"{self.images_per_second:.0f} images/s, {self.elapsed_seconds:.1f} s"
        )


ProgressSink = Callable[[ProgressState], None]


class Progress:
    def __init__(
        self,
        total: int,
        sink: ProgressSink,
        interval_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._total, self._sink, self._interval, self._clock = total, sink, interval_seconds, clock
        self._started = self._last = clock()
        self._done = self._images = 0

    def track(self, items: Iterable[_T], images: Callable[[_T], int]) -> Iterator[_T]:
        """Pass repositories through (``images`` counts one's images), reporting at most once per
        interval and once at the end."""
        for item in items:
            self._done += 1
            self._images += images(item)
            now = self._clock()
            if now - self._last >= self._interval:
                self._last = now
                self._sink(self.state(now))
            yield item
        self._sink(self.state(self._clock()))

    def state(self, now: float) -> ProgressState:
        return ProgressState(self._done, self._total, self._images, now - self._started)
