"""Item pages and catalog state of ``HybridRecommender``: similar items, bought together, trending.

``ItemPages`` answers them from the model's ``HybridParts``; ``similar`` holds the fit's
precomputed starts of the similar-items rankings (``recsys.precomputed``), when there are any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import Any

import numpy as np

from models.errors import UnknownIdError
from recsys.candidates import pop_order
from recsys.candidates_request import csr_row, similar_ranking
from recsys.filters import check_filter, check_k
from recsys.parts import HybridParts
from recsys.precomputed import PrefixLists, prefix_lists
from recsys.rules import Rules, pick
from recsys.types import ItemFilter, Recommendations, ScoredItem

SIMILAR_POOL = 100
SIMILAR_PREFIX = 64  # similar items kept per precomputed item (pages ask for k <= 100, mostly 10)


@dataclass
class ItemPages:
    """Product-page lists and catalog state, read from the fitted ``parts``."""

    parts: HybridParts
    similar: PrefixLists | None = None

    # ------------------------------------------------------------------ item pages
    def similar_items(
        self, item_id: str, *, k: int = 10, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Items like this one: content + co-visitation + ALS neighbours, then same-category popular.

        Raises:
            UnknownIdError: the item is not in the catalog.
        """
        k, item, title, rules = self._item_page(item_id, k, filters)
        reason = lambda _: f"Similar to {title}"  # noqa: E731
        stored = self.similar.of(item) if self.similar is not None else None
        if stored is not None:  # the fit's prefix of this ranking (recsys.precomputed)
            prefix, truncated = stored
            picked = self._pick(chain([(prefix, reason)], self._context_tiers(item)), rules, k)
            # Exact when the page filled from the prefix, or when the prefix is the whole ranking.
            if not truncated or (len(picked) == k and all(tier == 0 for *_, tier in picked)):
                return self._recs(picked, "similar")
        tiers = chain([(self._similar_ranking(item), reason)], self._context_tiers(item))
        return self._recs(self._pick(tiers, rules, k), "similar")

    def _similar_ranking(self, item: int) -> np.ndarray:
        tables = (self.parts.tables.content, self.parts.tables.covisit)
        return similar_ranking(item, tables, *self._unit_factors, pool=SIMILAR_POOL)

    def precompute_similar(self, limit: int) -> PrefixLists | None:
        """The first ``SIMILAR_PREFIX`` similar items of the ``limit`` most popular items."""
        n_items = len(self.parts.popular.item_ids_)
        if limit <= 0 or not n_items:
            return None
        popular = pop_order(self.parts.tables, self.parts.attrs)[:limit]
        return prefix_lists(np.sort(popular), n_items, self._similar_ranking, SIMILAR_PREFIX)

    def bought_together(
        self, item_id: str, *, k: int = 10, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Co-purchase partners (lift > 1), then co-viewed items, then same-category popular.

        Raises:
            UnknownIdError: the item is not in the catalog.
        """
        k, item, title, rules = self._item_page(item_id, k, filters)
        partners, _ = self.parts.popular.pairs_.partners(item)
        indices, data = csr_row(self.parts.tables.covisit, item)
        viewed = indices[np.argsort(-data, kind="stable")]
        tiers = [
            (partners, lambda _: f"Often bought with {title}"),
            (viewed, lambda _: f"Often viewed with {title}"),
        ]
        picked = self._pick(chain(tiers, self._context_tiers(item)), rules, k)
        return self._recs(picked, "bought_together")

    def _item_page(self, item_id: str, k: int, filters: ItemFilter | None) -> tuple[int, int, str, Rules]:
        """Checked ``k``, the item's position and title, and the page's rules (never the item itself)."""
        k, flt = check_k(k), check_filter(filters)  # bad options first, as every query method
        item = self.position(item_id)
        return k, item, self.parts.popular.titles_[item], Rules(flt, {item})

    def _context_tiers(self, item: int) -> Iterator[tuple[np.ndarray, Callable[[int], str]]]:
        for tier in self.parts.popular.ranking_.context_tiers(item):
            yield tier.items, tier.reason

    def _pick(self, tiers: Iterable[Any], rules: Rules, k: int) -> list[tuple[int, str, int]]:
        """``rules.pick`` over lazily built tiers (category fallbacks only when reached)."""
        return pick(
            tiers,
            rules,
            self.parts.popular.ranking_.filter,
            self.parts.base["leaf"],
            self.parts.base["brand"],
            k,
        )

    def _recs(self, picked: list[tuple[int, str, int]], source: str) -> Recommendations:
        ids = self.parts.popular.item_ids_
        return Recommendations(
            [ScoredItem(str(ids[i]), 1.0 / (1 + n), r) for n, (i, r, _) in enumerate(picked)], source
        )

    @cached_property
    def _unit_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the items with non-zero ALS factors and their unit-length factors (built on
        first use; a refit builds new pages)."""
        return _unit_rows(self.parts.item_factors)

    # ------------------------------------------------------------------ catalog state
    def trending(
        self, *, k: int = 10, category: str | None = None, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Time-decayed popularity, optionally under a category path prefix (the baseline's)."""
        return self.parts.popular.trending(k=k, category=category, filters=filters)

    def has_item(self, item_id: str) -> bool:
        """Whether the item is in the catalog the model knows."""
        return self.parts.popular.has_item(item_id)

    def item_title(self, item_id: str) -> str:
        """The catalog title of an item. Raises ``UnknownIdError`` for an unknown item."""
        return self.parts.popular.item_title(item_id)

    def set_stock(self, item_ids: Sequence[str] | str, in_stock: Sequence[bool] | bool) -> list[str]:
        """Update stock flags in place (the next query sees them); returns the unknown ids."""
        return self.parts.popular.set_stock(item_ids, in_stock)

    def position(self, item_id: str) -> int:
        pos = self.parts.popular.index_.get(str(item_id))
        if pos is None:
            raise UnknownIdError("item", item_id, field="item_id")
        return pos


def _unit_rows(factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    ids = np.flatnonzero(norms[:, 0] > 0) if factors.shape[1] else np.zeros(0, np.int64)
    return ids, factors[ids] / np.maximum(norms[ids], 1e-12)
