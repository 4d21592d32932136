"""Validation of query arguments and the vectorised item filter every query applies before top-k."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from models.errors import InvalidInputError
from recsys.categories import CategoryIndex
from recsys.types import ItemFilter


def check_k(k: object) -> int:
    """Return ``k`` as an int, or raise ``InvalidInputError(field="k")`` unless it is an integer >= 1."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInputError(f"k must be an integer >= 1, got {k!r}", field="k", value=k)
    return int(k)


def check_filter(filters: ItemFilter | None) -> ItemFilter:
    """``None`` -> ``ItemFilter()`` (in-stock items only); otherwise check the price bounds.

    Raises:
        InvalidInputError: ``filters`` is not an ``ItemFilter``, a bound is not a number, or
            ``price_min > price_max``.
    """
    if filters is None:
        return ItemFilter()
    if not isinstance(filters, ItemFilter):
        raise InvalidInputError(
            f"filters must be a recsys.types.ItemFilter, got {type(filters).__name__}", field="filters"
        )
    if filters.category is not None and not isinstance(filters.category, str):
        raise InvalidInputError(
            f"category must be a string path such as 'Kitchen > Cookware', got {filters.category!r}",
            field="category",
            value=filters.category,
        )
    for name in ("price_min", "price_max"):
        bound = getattr(filters, name)
        if bound is not None and (isinstance(bound, bool) or not _is_number(bound)):
            raise InvalidInputError(f"{name} must be a number, got {bound!r}", field=name, value=bound)
    lo, hi = filters.price_min, filters.price_max
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInputError(
            f"price_min ({lo}) must not exceed price_max ({hi})", field="price_min", value=lo
        )
    return filters


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not math.isnan(float(value))


def positions(ids: Iterable[object] | None, index: Mapping[str, int]) -> list[int]:
    """Catalog positions of the known ids, in the given order, unknown ids skipped."""
    if ids is None:
        return []
    if isinstance(ids, str):  # a lone id would otherwise be iterated character by character
        ids = [ids]
    found = (index.get(str(i)) for i in ids)
    return [p for p in found if p is not None]


class FilterContext:
    """The item attributes a filter reads: prices, stock flags and the category index."""

    def __init__(self, prices: np.ndarray, in_stock: np.ndarray, categories: CategoryIndex) -> None:
        self.prices = prices
        self.in_stock = in_stock
        self.categories = categories

    def mask(self, items: np.ndarray, flt: ItemFilter) -> np.ndarray:
        """Boolean mask over ``items`` (catalog positions) of those that pass ``flt``.

        An unknown category matches nothing, so a filter never leaks items from elsewhere.
        """
        keep = np.ones(len(items), dtype=bool)
        if flt.in_stock_only:
            keep &= self.in_stock[items]
        if flt.price_min is not None:
            keep &= self.prices[items] >= flt.price_min
        if flt.price_max is not None:
            keep &= self.prices[items] <= flt.price_max
        if flt.category is not None and flt.category.strip():
            category = self.categories.find(flt.category)
            if category is None:
                return np.zeros(len(items), dtype=bool)
            keep &= self.categories.contains(category, items)
        return keep
