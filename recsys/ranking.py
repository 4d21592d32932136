"""The query engine behind the baseline: tiers of pre-ranked candidates, filtered, cut to ``k``.

A query is a chain of *tiers* (e.g. "popular in the leaf category", then "in its parent", then
"popular overall"). Candidates inside a tier are already in rank order, so answering is a boolean
filter mask and a slice per tier until ``k`` items are found; no per-query sort of the catalog.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from recsys.categories import CategoryIndex
from recsys.filters import FilterContext
from recsys.types import ItemFilter, ScoredItem


class Tier(NamedTuple):
    """Candidates of one fallback level, best first, with raw scores and a reason per item."""

    items: np.ndarray
    scores: np.ndarray
    reason: Callable[[int], str]


@dataclass
class Caps:
    """Diversity caps of one query: at most so many items per leaf category and per brand.

    ``leaf`` and ``brand`` are integer codes per catalog position (-1: none, never capped).
    """

    leaf: np.ndarray
    brand: np.ndarray
    max_per_category: int | None = None
    max_per_brand: int | None = None
    _per_leaf: Counter[int] = field(default_factory=Counter)
    _per_brand: Counter[int] = field(default_factory=Counter)

    def admit(self, items: np.ndarray, passing: np.ndarray, taken: set[int], need: int) -> list[int]:
        """Positions (into ``items``) of the first ``need`` passing, untaken items within the caps."""
        chosen: list[int] = []
        for j in passing.tolist():
            item = int(items[j])
            leaf, brand = int(self.leaf[item]), int(self.brand[item])
            if item in taken or self._full(self._per_leaf, leaf, self.max_per_category):
                continue
            if self._full(self._per_brand, brand, self.max_per_brand):
                continue
            chosen.append(j)
            self._per_leaf[leaf] += 1
            self._per_brand[brand] += 1
            if len(chosen) >= need:
                break
        return chosen

    @staticmethod
    def _full(counts: Counter[int], code: int, cap: int | None) -> bool:
        return cap is not None and code >= 0 and counts[code] >= cap


class RankingIndex:
    """Items ranked by a score, with category members and filters over the same positions.

    Args:
        item_ids: ``U`` array of catalog ids.
        categories: normalised category path per item.
        prices: ``float64`` price per item (NaN when unknown).
        in_stock: ``bool`` stock flag per item; shared, so in-place updates are seen by queries.
        scores: ``float64`` popularity per item (>= 0).
    """

    def __init__(
        self,
        item_ids: np.ndarray,
        categories: np.ndarray,
        prices: np.ndarray,
        in_stock: np.ndarray,
        scores: np.ndarray,
    ) -> None:
        self.item_ids = item_ids
        top = float(scores.max()) if len(scores) else 0.0
        # Scores in [0, 1] relative to the top item, so scores of different tiers are comparable.
        self.relative = scores / top if top > 0 else np.zeros_like(scores)
        # Ties (e.g. items without events) break by id, so rankings do not depend on row order.
        self.order = np.lexsort((item_ids, -scores)).astype(np.int64)
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(len(self.order))
        self.categories = CategoryIndex(categories, self.order)
        self.filter = FilterContext(prices, in_stock, self.categories)

    def popular_tier(self, reason: str) -> Tier:
        """Every item, most popular first."""
        return Tier(self.order, self.relative[self.order], lambda _: reason)

    def members_tier(self, categories: list[int], template: str) -> Tier:
        """Members of the given disjoint categories, merged in rank order.

        ``template`` gets the category name of each item's matching category, e.g.
        ``"Popular in {}"``.
        """
        index = self.categories
        items = np.concatenate([index.members[c] for c in categories])
        if len(categories) > 1:
            items = items[np.argsort(self.rank[items], kind="stable")]
        names = {c: template.format(index.names[c]) for c in categories}

        def reason(item: int) -> str:
            return next(names[c] for c in index.ancestors(item) if c in names)

        return Tier(items, self.relative[items], reason)

    def category_tiers(self, seeds: list[int], template: str) -> Iterator[Tier]:
        """Leaf categories of the ``seeds`` items, then their parents, ... up to the top level."""
        chains = [self.categories.ancestors(item) for item in seeds]
        used: set[int] = set()
        for depth in range(max(map(len, chains), default=0)):
            level = list(dict.fromkeys(c[depth] for c in chains if len(c) > depth and c[depth] not in used))
            if level:
                used.update(level)
                yield self.members_tier(level, template)

    def context_tiers(self, item: int) -> Iterator[Tier]:
        """Category tiers of one item; an uncategorised item falls back to popular overall."""
        if self.categories.ancestors(item):
            return self.category_tiers([item], "Popular in {}")
        return iter([self.popular_tier("Popular right now")])

    def take(
        self, tiers: Iterable[Tier], flt: ItemFilter, excluded: set[int], k: int, caps: Caps | None = None
    ) -> list[ScoredItem]:
        """Top ``k`` over the tiers in order: filter first, skip excluded/taken (and what breaks a
        diversity cap), keep scores sorted.

        Tiers are consumed lazily, so fallbacks cost nothing when earlier tiers fill ``k``. A later
        tier's scores are scaled so its best item never outscores the previous tier's last one;
        the reported scores then stay in descending order across fallbacks.
        """
        picked: list[ScoredItem] = []
        taken, floor = set(excluded), 1.0
        for tier in tiers:
            need = k - len(picked)
            if need <= 0:
                break
            passing = np.flatnonzero(self.filter.mask(tier.items, flt))
            if caps is not None:
                chosen = caps.admit(tier.items, passing, taken, need)
            else:
                # At most len(taken) of the head are skipped, so this head always holds `need` items.
                chosen = [int(j) for j in passing[: need + len(taken)] if int(tier.items[j]) not in taken][
                    :need
                ]
            if not chosen:
                continue
            raw = tier.scores[chosen]
            scale = min(1.0, floor / raw[0]) if raw[0] > 0 else 1.0
            for j, score in zip(chosen, raw * scale, strict=True):
                item = int(tier.items[j])
                picked.append(ScoredItem(str(self.item_ids[item]), float(score), tier.reason(item)))
                taken.add(item)
            floor = float(raw[-1] * scale)
        return picked
