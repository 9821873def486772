"""The plugin's cache: run manifests expire after MANIFEST_SECONDS, rendered pages least recently used out."""

from __future__ import annotations

from functools import partial

from ecr_provider.plugins.ecr_page import MANIFEST_SECONDS, PAGES, PageCache


def test_a_record_is_read_again_once_it_has_expired() -> None:
    now = [0.0]
    cache = PageCache(clock=lambda: now[0])
    reads: list[int] = []

    def read() -> int:
        reads.append(len(reads))
        return len(reads)

    assert cache.record("manifest", read) == 1
    now[0] = MANIFEST_SECONDS - 1
    assert cache.record("manifest", read) == 1
    now[0] = MANIFEST_SECONDS + 1
    assert cache.record("manifest", read) == 2
    assert len(reads) == 2


def test_the_least_recently_used_page_goes_first() -> None:
    cache = PageCache()
    for number in range(PAGES):
        cache.page(number, partial(str.format, "page {}", number))
    assert cache.page(0, lambda: "rendered again") == "page 0"  # 0 is now the most recently used
    cache.page("one more", lambda: "new")
    assert cache.page(0, lambda: "rendered again") == "page 0"
    assert cache.page(1, lambda: "rendered again") == "rendered again"
