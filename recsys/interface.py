"""``Recommender``: what serving may ask a recommendation model, whichever one is champion.

The learned model (``recsys.hybrid.HybridRecommender``) and its baseline
(``recsys.popularity.PopularityRecommender``) both satisfy it, with the same keyword options
(``models.families`` has mypy check both), so a route never asks a model what it supports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from recsys.types import ItemFilter, Recommendations


class Recommender(Protocol):
    """Recommendations for shoppers and product pages, with stock updated in place."""

    def recommend(
        self,
        *,
        user_id: str | None = None,
        history_item_ids: Iterable[str] = (),
        session_item_ids: Iterable[str] = (),
        k: int = 10,
        filters: ItemFilter | None = None,
        exclude_item_ids: Iterable[str] = (),
        max_per_category: int | None = None,
        max_per_brand: int | None = None,
        consumable_categories: Sequence[str] | None = None,
        recommend_viewed: bool = False,
        session_event_types: Sequence[str] | None = None,
    ) -> Recommendations:
        """Items for a shopper (known or anonymous) under filters, exclusions and diversity caps."""
        ...

    def similar_items(
        self, item_id: str, *, k: int = 10, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Items like this one (``UnknownIdError`` for an unknown item)."""
        ...

    def bought_together(
        self, item_id: str, *, k: int = 10, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Items often bought in the same order as this one (``UnknownIdError`` for an unknown item)."""
        ...

    def trending(
        self, *, k: int = 10, category: str | None = None, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Items gaining popularity, optionally under a category path prefix."""
        ...

    def has_item(self, item_id: str) -> bool:
        """Whether the item is in the catalog the model knows."""
        ...

    def set_stock(self, item_ids: Sequence[str] | str, in_stock: Sequence[bool] | bool) -> list[str]:
        """Update stock flags in place; returns the ids the model does not know."""
        ...
