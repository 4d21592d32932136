"""Whole search answers kept for repeated queries: the encoded response body, keyed by question.

Shoppers repeat queries (on the Home Depot query log a cache of a few thousand answers serves
most searches: docs/BENCHMARKS.md, "Capacity per core"), and a search answer costs milliseconds
of encoding, vector search, re-ranking and facets while returning stored bytes costs microseconds.

The key holds everything an answer depends on: the model version serving, the searcher's
``catalog_version`` (a new number at load and at every catalog change, so a changed catalog is
never answered from the cache), the query, ``k``, the filters and the shopper's history (which
personalises the ranking). ``SHELFWISE_SEARCH_CACHE_MB`` sizes it; 0 turns it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from search.types import SearchFilters
from storage.lru import CacheStats, LruCache


@dataclass(frozen=True)
class AnswerKey:
    """Everything an answer depends on."""

    version: str
    catalog_version: int
    query: str
    k: int
    filters: SearchFilters
    history: tuple[str, ...]

    @property
    def size(self) -> int:
        """Bytes the key itself holds, roughly: the query and the history's ids."""
        return len(self.query) + 64 * (1 + len(self.history))


class SearchAnswerCache:
    """An LRU of encoded search responses bounded in MB (``storage.lru``)."""

    def __init__(self, max_mb: float) -> None:
        self._lru: LruCache[bytes] = LruCache(int(max_mb * 2**20))

    @property
    def enabled(self) -> bool:
        """Whether anything is kept (a budget above 0)."""
        return self._lru.enabled

    @staticmethod
    def key(
        version: str,
        catalog_version: int,
        query: str,
        k: int,
        filters: SearchFilters,
        history: Sequence[str],
    ) -> AnswerKey:
        """The key of this question."""
        return AnswerKey(version, catalog_version, query, k, filters, tuple(history))

    def get(self, key: AnswerKey) -> bytes | None:
        """The stored body, or ``None``."""
        return self._lru.get(key)

    def put(self, key: AnswerKey, body: bytes) -> None:
        """Keep ``body`` (the key's query and history count towards its size)."""
        self._lru.put(key, body, len(body) + key.size)

    def stats(self) -> CacheStats:
        """Hits, misses, evictions and size."""
        return self._lru.stats()
