"""Where a run's wall time goes, phase by phase, for one log line a person can compare across runs.

The phases follow each other (``mark``), except the main thread's own work while the readers stream
(transform, write), which is measured inside the streaming span (``add``) and carved out of it: what
is left of that span is the time spent waiting for the readers, reported as ``read``.
"""

from __future__ import annotations

import time

STARTUP = "start-up"
SETUP = "set-up"
READ = "read"
TRANSFORM = "transform"
WRITE = "write"
FINDINGS = "findings"
HTML = "html"
UPLOAD = "upload"
OUTCOME = "outcome"
ORDER = (STARTUP, SETUP, READ, TRANSFORM, WRITE, FINDINGS, HTML, UPLOAD, OUTCOME)
"""The order of a line's phases, whichever was counted first."""


class PhaseTimes:
    """Seconds per phase since ``started`` (a ``time.perf_counter()`` value)."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.perf_counter() if started is None else started
        self._last = self.started
        self._carved = 0.0
        self.seconds: dict[str, float] = {}

    def mark(self, phase: str) -> None:
        """The time since the previous mark is ``phase``'s, less what was ``add``-ed meanwhile."""
        now = time.perf_counter()
        self._count(phase, now - self._last - self._carved)
        self._last = now
        self._carved = 0.0

    def add(self, phase: str, seconds: float) -> None:
        """Time measured inside the current span (the main thread's share of a streaming phase)."""
        self._count(phase, seconds)
        self._carved += seconds

    def _count(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def line(self) -> str:
        """``start-up 0.42 s, read 1.10 s, ...; 2.31 s in all``, in :data:`ORDER`."""
        ordered = sorted(self.seconds.items(), key=lambda item: ORDER.index(item[0]))
        parts = ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in ordered)
        return f"{parts}; {sum(self.seconds.values()):.2f} s in all"
