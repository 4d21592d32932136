"""Item metadata kept next to the BM25 index: what filters, facets and hits need.

Filters and facets run on integer codes rather than strings, so a query touching thousands of
matches costs a few vectorised array lookups instead of string comparisons per item.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import InvalidInputError
from search.text import tokenize
from search.types import CatalogItem, SearchFilters, SearchHit

FACET_SIZE = 20
PRICE_EDGES = (0.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)
COLUMNS = ("item_id", "title", "category", "brand", "price", "in_stock")


def normalize_path(path: str) -> str:
    """``" Kitchen >Cookware > "`` -> ``"Kitchen > Cookware"``: trimmed segments, one separator."""
    return " > ".join(seg.strip() for seg in str(path).split(">") if seg.strip())


def _codes(keys: Sequence[str], labels_from: Sequence[str]) -> tuple[np.ndarray, list[str], dict[str, int]]:
    """Factorise ``keys`` (empty key -> -1); each code is labelled by its first-seen original."""
    codes, uniques = pd.factorize(pd.Series(list(keys), dtype=object), use_na_sentinel=True)
    codes = codes.astype(np.int32)
    _, first = np.unique(codes, return_index=True)
    lookup = {str(key): i for i, key in enumerate(uniques)}
    labels = [labels_from[j] for j in first[codes[first] >= 0]]
    if "" in lookup:  # an empty brand/category is "no value", never a facet or a filter target
        empty = lookup.pop("")
        codes[codes == empty] = -1
        codes[codes > empty] -= 1
        labels.pop(empty)
        lookup = {k: (v - 1 if v > empty else v) for k, v in lookup.items()}
    return codes, labels, lookup


@dataclass
class ItemTable:
    """Per-item arrays in index order plus the code tables derived from them.

    Build it with :meth:`from_catalog` (fit) or :meth:`read` (load); both end in
    ``__post_init__``, so a loaded table is derived exactly like a freshly fitted one.
    """

    item_ids: list[str]
    titles: list[str]
    categories: list[str]
    brands: list[str]
    prices: np.ndarray
    in_stock: np.ndarray
    top_labels: list[str] = field(init=False)
    brand_labels: list[str] = field(init=False)
    _title_tokens: list[tuple[str, ...] | None] = field(init=False, repr=False, compare=False)
    _rows: dict[str, int] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        self._title_tokens = [None] * len(self.item_ids)
        self.prices = np.asarray(self.prices, dtype=np.float64)
        self.in_stock = np.asarray(self.in_stock, dtype=bool)
        self.brand_codes, self.brand_labels, self._brand_lookup = _codes(
            [b.strip().lower() for b in self.brands], [b.strip() for b in self.brands]
        )
        segments = [p.split(" > ") if p else [] for p in self.categories]
        depth = max((len(s) for s in segments), default=0)
        self._prefix_codes = np.full((len(self.item_ids), max(depth, 1)), -1, dtype=np.int32)
        self._prefix_lookup: list[dict[str, int]] = []
        self.level_labels: list[list[str]] = []
        for d in range(depth):
            originals = [" > ".join(s[: d + 1]) if len(s) > d else "" for s in segments]
            codes, labels, lookup = _codes([o.lower() for o in originals], originals)
            self._prefix_codes[:, d] = codes
            self._prefix_lookup.append(lookup)
            self.level_labels.append(labels)
            if d == 0:
                self.top_labels = labels
        if depth == 0:
            self.top_labels = []

    @classmethod
    def from_catalog(cls, catalog: pd.DataFrame) -> ItemTable:
        """Take the metadata columns of a validated catalog frame, in row order."""
        text = {c: catalog[c].fillna("").astype(str).tolist() for c in ("item_id", "title", "brand")}
        return cls(
            item_ids=text["item_id"],
            titles=text["title"],
            categories=[normalize_path(p) for p in catalog["category"].fillna("").astype(str)],
            brands=text["brand"],
            prices=pd.to_numeric(catalog["price"], errors="coerce").to_numpy(dtype=np.float64),
            in_stock=catalog["in_stock"].fillna(False).astype(bool).to_numpy(),
        )

    def __len__(self) -> int:
        return len(self.item_ids)

    def write(self, path: Path) -> None:
        """Write the source columns as parquet (derived codes are rebuilt on read)."""
        frame = pd.DataFrame(
            {
                "item_id": self.item_ids,
                "title": self.titles,
                "category": self.categories,
                "brand": self.brands,
                "price": self.prices,
                "in_stock": self.in_stock,
            }
        )
        frame.to_parquet(path, index=False)

    @classmethod
    def read(cls, path: Path) -> ItemTable:
        """Read a table written by :meth:`write`."""
        frame = pd.read_parquet(path, columns=list(COLUMNS))
        return cls(
            item_ids=frame["item_id"].astype(str).tolist(),
            titles=frame["title"].astype(str).tolist(),
            categories=frame["category"].astype(str).tolist(),
            brands=frame["brand"].astype(str).tolist(),
            prices=frame["price"].to_numpy(dtype=np.float64),
            in_stock=frame["in_stock"].to_numpy(dtype=bool),
        )

    def rows(self) -> dict[str, int]:
        """``{item_id: row}``, built on first use."""
        if self._rows is None:
            self._rows = {item: n for n, item in enumerate(self.item_ids)}
        return self._rows

    def hits(self, rows: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> list[SearchHit]:
        """The ranked rows as hits (id, title, price, stock flag and score)."""
        return [
            SearchHit(self.item_ids[r], self.titles[r], float(s), self._price(r), bool(self.in_stock[r]))
            for r, s in zip(rows, scores, strict=True)
        ]

    def describe(self, row: int) -> CatalogItem:
        """The catalog fields of the item at ``row``."""
        return CatalogItem(
            self.item_ids[row],
            self.titles[row],
            self.categories[row],
            self.brands[row],
            self._price(row),
            bool(self.in_stock[row]),
        )

    def _price(self, row: int) -> float | None:
        price = float(self.prices[row])
        return None if math.isnan(price) else price

    def title_tokens(self, rows: Sequence[int] | np.ndarray) -> list[tuple[str, ...]]:
        """:func:`~search.text.tokenize` of the titles at ``rows``, each computed once per table.

        The re-ranker reads ~100 titles per query; tokenising them was most of its cost. The
        cache fills lazily (a few MB at 50k items: interned words); a racing thread at worst
        tokenises the same title twice.
        """
        cache, out = self._title_tokens, []
        for r in rows:
            tokens = cache[r]
            if tokens is None:
                tokens = cache[r] = tuple(sys.intern(w) for w in tokenize(self.titles[r]))
            out.append(tokens)
        return out

    def keep_mask(self, rows: np.ndarray, filters: SearchFilters) -> np.ndarray:
        """Boolean mask over ``rows`` (item positions) of the items that pass ``filters``.

        Empty-string category or brand filters count as absent. An unknown category or brand
        matches nothing (an empty result, not an error: a storefront may list facets of a
        different catalog version).
        """
        keep = np.ones(len(rows), dtype=bool)
        if filters.category is not None and filters.category.strip():
            keep &= self._category_mask(rows, filters.category)
        if filters.brand is not None and filters.brand.strip():
            code = self._brand_lookup.get(filters.brand.strip().lower(), -2)
            keep &= self.brand_codes[rows] == code
        if filters.price_min is not None:
            keep &= self.prices[rows] >= filters.price_min
        if filters.price_max is not None:
            keep &= self.prices[rows] <= filters.price_max
        if filters.in_stock_only:
            keep &= self.in_stock[rows]
        return keep

    def _category_mask(self, rows: np.ndarray, category: str) -> np.ndarray:
        key = normalize_path(category).lower()
        depth = key.count(" > ")
        if depth >= len(self._prefix_lookup) or key not in self._prefix_lookup[depth]:
            return np.zeros(len(rows), dtype=bool)
        return self._prefix_codes[rows, depth] == self._prefix_lookup[depth][key]

    def facets(self, rows: np.ndarray, size: int = FACET_SIZE) -> dict[str, dict[str, int]]:
        """Top-level category and brand counts over ``rows``, largest first (ties by name)."""
        top = self._prefix_codes[rows, 0]
        return {
            "category": _top_counts(top, self.top_labels, size),
            "brand": _top_counts(self.brand_codes[rows], self.brand_labels, size),
        }

    def full_facets(self, rows: np.ndarray, size: int = FACET_SIZE) -> dict[str, dict[str, int]]:
        """:meth:`facets` plus ``category_level_<n>`` for deeper category levels and price bands.

        A level-n label is the whole path down to that level (``"Kitchen > Cookware"``), so it can
        be sent back unchanged as a category filter.
        """
        out = self.facets(rows, size)
        for d in range(1, len(self.level_labels)):
            counts = _top_counts(self._prefix_codes[rows, d], self.level_labels[d], size)
            if counts:
                out[f"category_level_{d + 1}"] = counts
        out["price"] = price_bands(self.prices[rows])
        return out


def price_bands(prices: np.ndarray) -> dict[str, int]:
    """Counts per band of :data:`PRICE_EDGES` (``"10-25"`` = 10 <= price < 25), non-empty, in order."""
    known = prices[~np.isnan(prices)]
    counts = np.histogram(known, bins=[*PRICE_EDGES, np.inf])[0]
    bands = zip(PRICE_EDGES[:-1], PRICE_EDGES[1:], strict=True)
    labels = [f"{lo:g}-{hi:g}" for lo, hi in bands] + [f"{PRICE_EDGES[-1]:g}+"]
    return {label: int(n) for label, n in zip(labels, counts, strict=True) if n}


def _top_counts(codes: np.ndarray, labels: list[str], size: int) -> dict[str, int]:
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    present = np.flatnonzero(counts)
    if len(present) > size:  # only counts tied with or above the size-th largest can be shown
        floor = np.partition(counts[present], len(present) - size)[len(present) - size]
        present = present[counts[present] >= floor]
    order = sorted(present.tolist(), key=lambda i: (-counts[i], labels[i]))[:size]
    return {labels[i]: int(counts[i]) for i in order}


def check_filters(filters: object) -> SearchFilters:
    """Return ``filters`` (or empty filters for ``None``) after checking its values.

    Raises:
        InvalidInputError: not a ``SearchFilters``, a non-numeric or NaN price bound, or
            ``price_min > price_max``; ``field`` names the offending attribute.
    """
    if filters is None:
        return SearchFilters()
    if not isinstance(filters, SearchFilters):
        raise InvalidInputError(
            f"filters must be a SearchFilters or None, got {type(filters).__name__}", field="filters"
        )
    for name in ("price_min", "price_max"):
        value = getattr(filters, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise InvalidInputError(f"{name} must be a number, got {value!r}", field=name, value=value)
    lo, hi = filters.price_min, filters.price_max
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInputError(
            f"price_min ({lo}) must not exceed price_max ({hi})", field="price_min", value=lo
        )
    return filters
