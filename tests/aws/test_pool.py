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
