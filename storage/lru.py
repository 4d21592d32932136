"""A least-recently-used cache bounded in bytes, safe to share between request threads.

Used where the same question comes back often and its answer is expensive: query embeddings
(``embedding.encoder``) and whole search answers (``serving.search_cache``). The caller says what
an entry costs (``put(key, value, size)``) so the bound is in MB, not in entries, whatever the
values are. Hit, miss and eviction counts are kept for the metrics.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")
ENTRY_OVERHEAD = 200  # bytes of dict slot, key tuple and bookkeeping counted per entry


@dataclass(frozen=True)
class CacheStats:
    """Counts since the cache was created (``bytes`` and ``entries`` are current)."""

    hits: int
    misses: int
    evictions: int
    entries: int
    bytes: int
    max_bytes: int

    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0 before the first lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class LruCache(Generic[V]):
    """``get``/``put`` under one lock; the least recently used entries go first when full.

    Args:
        max_bytes: the budget; 0 disables the cache (every ``get`` misses, ``put`` keeps nothing).
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._hits = self._misses = self._evictions = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether anything is kept (a budget above 0)."""
        return self.max_bytes > 0

    def get(self, key: Hashable) -> V | None:
        """The value stored under ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return found[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Store ``value`` (``size`` bytes of payload); an entry larger than the budget is not kept."""
        cost = int(size) + ENTRY_OVERHEAD
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, cost)
            self._bytes += cost
            while self._bytes > self.max_bytes:
                _, (_, freed) = self._entries.popitem(last=False)
                self._bytes -= freed
                self._evictions += 1

    def clear(self) -> None:
        """Drop every entry (the counts stay)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> CacheStats:
        """The counts and the current size."""
        with self._lock:
            return CacheStats(
                self._hits, self._misses, self._evictions, len(self._entries), self._bytes, self.max_bytes
            )
