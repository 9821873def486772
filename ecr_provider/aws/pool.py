"""Concurrent AWS reads handed on in input order, with at most a window of results held at once."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_map(
    read: Callable[[Item], Result], items: Iterable[Item], max_workers: int, thread_name_prefix: str
) -> Iterator[Result]:
    """``map(read, items)`` on ``max_workers`` threads: deterministic output, bounded memory.

    Up to twice ``max_workers`` reads are in flight or waiting to be consumed, so a slow consumer
    (a CSV writer, an upload) never lets results pile up. Reads not started when the consumer stops
    or a read fails are cancelled.
    """
    window = max_workers * 2
    with ThreadPoolExecutor(max_workers, thread_name_prefix=thread_name_prefix) as pool:
        pending: deque[Future[Result]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(read, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
