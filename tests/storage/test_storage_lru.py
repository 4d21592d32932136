"""LruCache: bounded in bytes, least recently used out first, counts for the metrics."""

from __future__ import annotations

import threading

import pytest

from storage.lru import ENTRY_OVERHEAD, LruCache


def test_the_least_recently_used_entry_goes_first_and_the_bound_holds() -> None:
    cache: LruCache[str] = LruCache(3 * (100 + ENTRY_OVERHEAD))
    for key in "abc":
        cache.put(key, key.upper(), 100)
    assert cache.get("a") == "A"  # a is now the most recent; b is the oldest
    cache.put("d", "D", 100)
    assert cache.get("b") is None and [cache.get(k) for k in "acd"] == ["A", "C", "D"]
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.evictions, stats.entries) == (4, 1, 1, 3)
    assert stats.bytes <= stats.max_bytes and stats.hit_rate == pytest.approx(0.8)


def test_replacing_a_key_counts_its_size_once_and_an_oversized_value_is_not_kept() -> None:
    cache: LruCache[int] = LruCache(1000)
    cache.put("x", 1, 100)
    cache.put("x", 2, 300)
    assert cache.get("x") == 2 and cache.stats().bytes == 300 + ENTRY_OVERHEAD
    cache.put("big", 3, 5000)
    assert cache.get("big") is None and len(cache) == 1


def test_a_zero_budget_keeps_nothing_and_a_negative_one_is_refused() -> None:
    cache: LruCache[int] = LruCache(0)
    cache.put("x", 1, 1)
    assert cache.get("x") is None and len(cache) == 0
    with pytest.raises(ValueError, match="max_bytes"):
        LruCache(-1)


def test_threads_sharing_a_cache_keep_its_bound() -> None:
    cache: LruCache[int] = LruCache(50 * (10 + ENTRY_OVERHEAD))

    def work(offset: int) -> None:
        for i in range(2000):
            cache.put((offset, i % 80), i, 10)
            cache.get((offset, (i * 7) % 80))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = cache.stats()
    assert stats.entries == 50 and stats.bytes == 50 * (10 + ENTRY_OVERHEAD)
    assert stats.hits + stats.misses == 8000
