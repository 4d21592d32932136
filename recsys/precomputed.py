"""Known users' ranked candidates, computed once at fit time and read by requests without new events.

A request for a known shopper who has no online events since training (no session items, no new
purchases) asks the same question every time: candidates from the stored profile, ordered by the
re-ranker. The fit answers it for every known user (up to ``precompute_users``, longest histories
first) with the very code a request runs (``candidates_one`` and the re-ranker, one user at a
time), and keeps each user's ordered candidates with their best source. A request then only
applies its own rules (stock, filters, exclusions, diversity caps) to that list, in order:
re-ranker scores are per row and the sort is stable, so filtering the ordered list gives exactly
the order a request would compute for the filtered candidates. A shopper with online events, an
anonymous session or a user outside the precomputed set takes the full path.

Cost: about one request's time per user at fit (~1 ms on a 100k-item catalog), and ~5 bytes
per candidate (~150 per user) in memory and in the artifact.

Item pages get the same treatment (``PrefixLists``): the fit keeps the first entries of each
popular item's similar-items ranking, and a page reads them unless its filter reads past a
truncated prefix, in which case it ranks in full as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankedLists:
    """Per precomputed user row, its candidates best first and each one's best source.

    Attributes:
        slot: per user row of the history, its index here (-1: not precomputed).
        bounds: list offsets, ``len(users) + 1``.
        items: catalog positions, all lists concatenated (int32).
        best: per item, the source index the reason names (int8, as ``CandidateSet.best_source``).
    """

    slot: np.ndarray
    bounds: np.ndarray
    items: np.ndarray
    best: np.ndarray

    def of(self, user_row: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(items, best)`` of a user row, or ``None`` when it was not precomputed."""
        s = int(self.slot[user_row]) if 0 <= user_row < len(self.slot) else -1
        if s < 0:
            return None
        lo, hi = int(self.bounds[s]), int(self.bounds[s + 1])
        return self.items[lo:hi].astype(np.int64), self.best[lo:hi].astype(np.int64)

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to save, prefixed ``ranked_``."""
        return {f"ranked_{k}": getattr(self, k) for k in ("slot", "bounds", "items", "best")}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> RankedLists | None:
        """Rebuild from ``arrays()``; ``None`` for an artifact saved without them."""
        if "ranked_slot" not in arrays:
            return None
        return cls(*(arrays[f"ranked_{k}"] for k in ("slot", "bounds", "items", "best")))


def chosen_users(lengths: np.ndarray, limit: int) -> np.ndarray:
    """The user rows to precompute, ascending: those with events, longest histories first, at
    most ``limit`` (ties by row)."""
    has = np.flatnonzero(lengths > 0)
    if limit <= 0 or not len(has):
        return np.zeros(0, np.int64)
    if len(has) > limit:
        has = has[np.argsort(-lengths[has], kind="stable")[:limit]]
    return np.sort(has).astype(np.int64)


def rank_users(
    users: np.ndarray, n_users: int, ranked: Callable[[int], tuple[np.ndarray, np.ndarray]]
) -> RankedLists:
    """``RankedLists`` of ``users`` (ascending rows) from ``ranked(row) -> (items, best)``."""
    slot = np.full(n_users, -1, np.int32)
    slot[users] = np.arange(len(users), dtype=np.int32)
    parts: Iterable[tuple[np.ndarray, np.ndarray]] = [ranked(int(u)) for u in users]
    parts = list(parts)
    bounds = np.zeros(len(parts) + 1, np.int64)
    bounds[1:] = np.cumsum([len(items) for items, _ in parts])
    if parts:
        items = np.concatenate([p[0] for p in parts]).astype(np.int32)
        best = np.concatenate([p[1] for p in parts]).astype(np.int8)
    else:
        items, best = np.zeros(0, np.int32), np.zeros(0, np.int8)
    return RankedLists(slot, bounds, items, best)


@dataclass(frozen=True)
class PrefixLists:
    """Per precomputed item, the first entries of its similar-items ranking.

    Attributes:
        slot: per catalog position, its index here (-1: not precomputed).
        bounds: list offsets, ``len + 1``.
        items: catalog positions, all prefixes concatenated (int32).
        truncated: per list, whether the full ranking was longer than the stored prefix.
    """

    slot: np.ndarray
    bounds: np.ndarray
    items: np.ndarray
    truncated: np.ndarray

    def of(self, item: int) -> tuple[np.ndarray, bool] | None:
        """``(prefix, truncated)`` of an item, or ``None`` when it was not precomputed."""
        s = int(self.slot[item]) if 0 <= item < len(self.slot) else -1
        if s < 0:
            return None
        return self.items[int(self.bounds[s]) : int(self.bounds[s + 1])].astype(np.int64), bool(
            self.truncated[s]
        )

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to save, prefixed ``similar_``."""
        return {f"similar_{k}": getattr(self, k) for k in ("slot", "bounds", "items", "truncated")}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> PrefixLists | None:
        """Rebuild from ``arrays()``; ``None`` for an artifact saved without them."""
        if "similar_slot" not in arrays:
            return None
        return cls(*(arrays[f"similar_{k}"] for k in ("slot", "bounds", "items", "truncated")))


def prefix_lists(
    items: np.ndarray, n_items: int, ranking: Callable[[int], np.ndarray], length: int
) -> PrefixLists:
    """``PrefixLists`` of ``items`` (ascending positions): the first ``length`` of ``ranking(item)``."""
    slot = np.full(n_items, -1, np.int32)
    slot[items] = np.arange(len(items), dtype=np.int32)
    full = [ranking(int(i)) for i in items]
    bounds = np.zeros(len(full) + 1, np.int64)
    bounds[1:] = np.cumsum([min(len(r), length) for r in full])
    kept = np.concatenate([r[:length] for r in full]).astype(np.int32) if full else np.zeros(0, np.int32)
    return PrefixLists(slot, bounds, kept, np.array([len(r) > length for r in full], bool))
