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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np


@dataclass(frozen=True)
class KeyedLists:
    """Variable-length lists of catalog positions keyed by a position (CSR style).

    Attributes:
        slot: per key (a user row, a catalog position), its list's index (-1: none stored).
        bounds: list offsets, ``len + 1``.
        items: catalog positions, all lists concatenated (int32).
        extra: the subclass's companion array (per item or per list, see there).
    """

    PREFIX: ClassVar[str] = ""

    slot: np.ndarray
    bounds: np.ndarray
    items: np.ndarray
    extra: np.ndarray

    def _find(self, key: int) -> tuple[int, int, int] | None:
        """``(list index, lo, hi)`` of ``key``'s list, or ``None``."""
        s = int(self.slot[key]) if 0 <= key < len(self.slot) else -1
        return None if s < 0 else (s, int(self.bounds[s]), int(self.bounds[s + 1]))

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to save, named ``PREFIX + field``."""
        return {self.PREFIX + name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Self | None:
        """Rebuild from ``arrays()``; ``None`` for an artifact saved without them."""
        if cls.PREFIX + "slot" not in arrays:
            return None
        return cls(*(arrays[cls.PREFIX + name] for name in _FIELDS))

    @classmethod
    def build(cls, keys: np.ndarray, n_keys: int, lists: list[np.ndarray], extra: np.ndarray) -> Self:
        """Lists for ``keys`` (ascending), out of ``n_keys`` possible keys."""
        slot = np.full(n_keys, -1, np.int32)
        slot[keys] = np.arange(len(keys), dtype=np.int32)
        bounds = np.zeros(len(lists) + 1, np.int64)
        bounds[1:] = np.cumsum([len(items) for items in lists])
        items = np.concatenate(lists).astype(np.int32) if lists else np.zeros(0, np.int32)
        return cls(slot, bounds, items, extra)


_FIELDS = ("slot", "bounds", "items", "extra")


class RankedLists(KeyedLists):
    """Per precomputed user row, its candidates best first; ``extra`` holds each candidate's best
    source (int8, as ``CandidateSet.best_source``: the reason shown)."""

    PREFIX = "ranked_"

    def of(self, user_row: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(items, best)`` of a user row, or ``None`` when it was not precomputed."""
        found = self._find(user_row)
        if found is None:
            return None
        _, lo, hi = found
        return self.items[lo:hi].astype(np.int64), self.extra[lo:hi].astype(np.int64)


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
    parts = [ranked(int(u)) for u in users]
    best = np.concatenate([b for _, b in parts]).astype(np.int8) if parts else np.zeros(0, np.int8)
    return RankedLists.build(users, n_users, [items for items, _ in parts], best)


class PrefixLists(KeyedLists):
    """Per precomputed item, the first entries of its similar-items ranking; ``extra`` holds, per
    list, whether the full ranking was longer than the stored prefix."""

    PREFIX = "similar_"

    def of(self, item: int) -> tuple[np.ndarray, bool] | None:
        """``(prefix, truncated)`` of an item, or ``None`` when it was not precomputed."""
        found = self._find(item)
        if found is None:
            return None
        s, lo, hi = found
        return self.items[lo:hi].astype(np.int64), bool(self.extra[s])


def prefix_lists(
    items: np.ndarray, n_items: int, ranking: Callable[[int], np.ndarray], length: int
) -> PrefixLists:
    """``PrefixLists`` of ``items`` (ascending positions): the first ``length`` of ``ranking(item)``."""
    full = [ranking(int(i)) for i in items]
    truncated = np.array([len(r) > length for r in full], bool)
    return PrefixLists.build(items, n_items, [r[:length] for r in full], truncated)
