"""ordered_map: input order out, a bounded window in flight, failures stop what has not started."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ecr_provider.aws.pool import ordered_map


def test_results_come_in_input_order_whatever_order_reads_finish_in() -> None:
    def read(number: int) -> int:
        time.sleep(0.001 * ((7 * number) % 5))  # later items often finish first
        return number * number

    assert list(ordered_map(read, range(40), 4, "test")) == [n * n for n in range(40)]


def test_no_more_than_twice_the_workers_are_taken_ahead_of_the_consumer() -> None:
    taken = 0

    def items() -> Iterator[int]:
        nonlocal taken
        for number in range(100):
            taken += 1
            yield number

    ahead = []
    for consumed, _ in enumerate(ordered_map(lambda n: n, items(), 3, "test"), start=1):
        ahead.append(taken - consumed)
    assert max(ahead) <= 2 * 3
    assert taken == 100


def test_a_failed_read_is_raised_and_reads_not_yet_started_never_run() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def read(number: int) -> int:
        with lock:
            started.append(number)
        if number == 3:
            raise RuntimeError("denied on item 3")
        time.sleep(0.005)
        return number

    results = ordered_map(read, range(1000), 2, "test")
    with pytest.raises(RuntimeError, match="denied on item 3"):
        list(results)
    assert len(started) <= 3 + 2 * 2 + 1


def test_no_read_starts_while_the_results_waiting_weigh_the_limit() -> None:
    """Reads finish at once, the consumer is slow: only what the weight allows is read ahead."""
    lock = threading.Lock()
    started = finished = 0

    def read(number: int) -> list[int]:
        nonlocal started, finished
        with lock:
            started += 1
        result = [number] * 100
        with lock:
            finished += 1
        return result

    ahead = []
    results = []
    for consumed, result in enumerate(
        ordered_map(read, range(30), 4, "test", weight=len, max_ahead=250), start=1
    ):
        deadline = time.monotonic() + 5
        while finished < started and time.monotonic() < deadline:
            time.sleep(0.001)  # every read started is done and waiting: the consumer is the slow one
        ahead.append(started - consumed)
        results.append(result[0])
    assert results == list(range(30))
    # Past the first window, a read in flight counts as 100: three results reach 250, so the
    # consumer, holding one, never has more than two others read or being read ahead of it.
    assert max(ahead[2 * 4 :]) == 2
    assert max(ahead) <= 2 * 4 - 1
    assert started == 30


def test_without_a_weight_the_window_alone_bounds_the_read_ahead() -> None:
    lock = threading.Lock()
    started = 0

    def read(number: int) -> int:
        nonlocal started
        with lock:
            started += 1
        return number

    ahead = []
    for consumed, _ in enumerate(ordered_map(read, range(30), 4, "test"), start=1):
        time.sleep(0.002)
        ahead.append(started - consumed)
    assert max(ahead) == 2 * 4 - 1
