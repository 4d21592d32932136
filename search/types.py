"""The plain values the search family takes and returns (see docs/ARCHITECTURE.md, "search").

Serving converts these to and from its pydantic schemas; domain code never sees pydantic.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

_VERSIONS = itertools.count(1)


def new_catalog_version() -> int:
    """A number no other catalog state of this process has had: a searcher takes a new one at
    fit, load and every catalog change, so an answer cached under it is never served stale."""
    return next(_VERSIONS)


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied to every match before ranking is truncated to ``k``.

    Attributes:
        category: a category path prefix, matched segment by segment and case-insensitively:
            ``"Kitchen"`` and ``"kitchen > cookware"`` both match ``"Kitchen > Cookware > Pans"``,
            ``"Kitch"`` does not.
        brand: an exact brand, compared case-insensitively.
        price_min: the lowest price allowed (inclusive); items without a price never pass.
        price_max: the highest price allowed (inclusive); items without a price never pass.
        in_stock_only: keep only items in stock.
    """

    category: str | None = None
    brand: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    in_stock_only: bool = False


@dataclass(frozen=True)
class SearchHit:
    """One ranked item: its id, title and price (for display), stock flag and ranking score."""

    item_id: str
    title: str
    score: float
    price: float | None = None
    in_stock: bool = True


@dataclass(frozen=True)
class CatalogItem:
    """What the search index knows of one item (a product page's header); ``price`` None: unknown."""

    item_id: str
    title: str
    category: str
    brand: str
    price: float | None
    in_stock: bool


@dataclass(frozen=True)
class SearchResult:
    """The top hits of a query plus counts over every item that matched it.

    Attributes:
        hits: at most ``k`` hits, best first.
        facets: ``{"category": {top-level category: n}, "brand": {brand: n}}`` counted over all
            matches that pass the filters (not only the returned hits).
        total: the number of matching items that pass the filters.
        corrected_query: the spelling-corrected query that was searched instead of the one
            typed ("did you mean"), or ``None`` when no correction was applied.
    """

    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    total: int = 0
    corrected_query: str | None = None
