"""Concurrent AWS reads handed on in input order, with at most a window of results held at once."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_map(
    read: Callable[[Item], Result],
    items: Iterable[Item],
    max_workers: int,
    thread_name_prefix: str,
    *,
    weight: Callable[[Result], int] | None = None,
    max_ahead: int = 0,
) -> Iterator[Result]:
    """``map(read, items)`` on ``max_workers`` threads: deterministic output, bounded memory.

    Up to twice ``max_workers`` reads are in flight or waiting to be consumed, so a slow consumer
    (a CSV writer, an upload) never lets results pile up. With ``weight``, no read starts either
    while the results read ahead of the consumer weigh ``max_ahead`` or more, a read in flight
    counted at the mean weight of the results so far: a consumer slower than the reads then holds
    about that much, not a window of the largest results. Reads not started when the consumer
    stops or a read fails are cancelled.
    """
    window = max_workers * 2
    pending: deque[Future[Result]] = deque()
    consumed = _Weights()

    def full() -> bool:
        if len(pending) >= window:
            return True
        if weight is None:
            return False
        done = _Weights.of(weight, [future for future in pending if future.done()])
        in_flight = len(pending) - done.count
        return done.total + in_flight * consumed.plus(done).mean >= max_ahead

    def take() -> Result:
        result = pending.popleft().result()
        if weight is not None:
            consumed.add(weight(result))
        return result

    with ThreadPoolExecutor(max_workers, thread_name_prefix=thread_name_prefix) as pool:
        try:
            for item in items:
                pending.append(pool.submit(read, item))
                while pending and full():
                    yield take()
            while pending:
                yield take()
        finally:
            for future in pending:
                future.cancel()


class _Weights:
    """A count of results and their total weight."""

    def __init__(self, count: int = 0, total: int = 0) -> None:
        self.count = count
        self.total = total

    @classmethod
    def of(cls, weight: Callable[[Result], int], done: list[Future[Result]]) -> _Weights:
        """Of the reads done; a failed one weighs nothing (it is raised when its turn comes)."""
        return cls(len(done), sum(weight(f.result()) for f in done if f.exception() is None))

    def add(self, value: int) -> None:
        self.count += 1
        self.total += value

    def plus(self, other: _Weights) -> _Weights:
        return _Weights(self.count + other.count, self.total + other.total)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0
