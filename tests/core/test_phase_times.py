"""Phase times: consecutive spans, and the main thread's work carved out of the span it happened in."""

from __future__ import annotations

import time

import pytest

from ecr_provider.core.phase_times import TRANSFORM, WRITE, PhaseTimes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(time, "perf_counter", fake)
    return fake


def test_marks_split_the_time_since_the_start(clock: Clock) -> None:
    phases = PhaseTimes(started=99.5)
    phases.mark("start-up")
    clock.now = 100.25
    phases.mark("set-up")
    clock.now = 101.0
    phases.mark("set-up")

    assert phases.seconds == {"start-up": 0.5, "set-up": 1.0}
    assert phases.line() == "start-up 0.50 s, set-up 1.00 s; 1.50 s in all"


def test_added_time_is_carved_out_of_the_span_it_was_measured_in(clock: Clock) -> None:
    phases = PhaseTimes()
    clock.now = 103.0
    phases.add(TRANSFORM, 0.75)
    phases.add(WRITE, 0.5)
    phases.mark("read")
    clock.now = 104.0
    phases.mark("html")

    assert phases.seconds == {"transform": 0.75, "write": 0.5, "read": 1.75, "html": 1.0}
    assert phases.line() == "read 1.75 s, transform 0.75 s, write 0.50 s, html 1.00 s; 4.00 s in all"
