"""The query engine behind the baseline: tiers of pre-ranked candidates, filtered, cut to ``k``.

A query is a chain of *tiers* (e.g. "popular in the leaf category", then "in its parent", then
"popular overall"). Candidates inside a tier are already in rank order, so answering is a boolean
filter mask and a slice per tier until ``k`` items are found; no per-query sort of the catalog.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import numpy as np

from recsys.categories import CategoryIndex
from recsys.filters import FilterContext
from recsys.rules import Rules, pick_positions
from recsys.types import ItemFilter, ScoredItem


class Tier(NamedTuple):
    """Candidates of one fallback level, best first, with raw scores and a reason per item."""

    items: np.ndarray
    scores: np.ndarray
    reason: Callable[[int], str]


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
        self._no_codes = np.full(len(item_ids), -1, dtype=np.int64)  # no caps: no code is capped

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
        self,
        tiers: Iterable[Tier],
        flt: ItemFilter,
        excluded: set[int],
        k: int,
        rules: tuple[np.ndarray, np.ndarray, int | None, int | None] | None = None,
    ) -> list[ScoredItem]:
        """Top ``k`` over the tiers in order, selected by ``recsys.rules.pick_positions`` (filter,
        exclusions, and the diversity caps of ``rules``: leaf codes, brand codes, most per leaf
        category, most per brand), with scores kept sorted.

        Tiers are consumed lazily, so fallbacks cost nothing when earlier tiers fill ``k``. A later
        tier's scores are scaled so its best item never outscores the previous tier's last one;
        the reported scores then stay in descending order across fallbacks.
        """
        seen: list[Tier] = []

        def lazy() -> Iterator[tuple[np.ndarray, Callable[[int], str]]]:
            for tier in tiers:
                seen.append(tier)
                yield tier.items, tier.reason

        leaf, brand, max_leaf, max_brand = (
            rules if rules is not None else (self._no_codes, self._no_codes, None, None)
        )
        chosen = pick_positions(
            lazy(), Rules(flt, excluded, max_leaf, max_brand), self.filter, leaf, brand, k
        )
        picked: list[ScoredItem] = []
        floor = 1.0
        for t, group in itertools.groupby(chosen, key=lambda c: c[2]):
            rows = list(group)
            raw = seen[t].scores[[position for *_, position in rows]]
            scale = min(1.0, floor / raw[0]) if raw[0] > 0 else 1.0
            for (item, reason, _, _), score in zip(rows, raw * scale, strict=True):
                picked.append(ScoredItem(str(self.item_ids[item]), float(score), reason))
            floor = float(raw[-1] * scale)
        return picked
