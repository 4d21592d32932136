"""Plain, frozen values that the recommendation models take and return (no pydantic here)."""

from __future__ import annotations

from dataclasses import dataclass

# Answer sources: what filled the top of an answer (``Recommendations.source``, the API's
# ``source`` field). Candidate sources are what a hybrid model retrieves from
# (``recsys.sources.CANDIDATE_SOURCES``: ALS, co-visitation ...).
ANSWER_SOURCES = ("popular", "category", "session", "similar", "trending", "bought_together", "personalized")


@dataclass(frozen=True)
class ItemFilter:
    """Constraints every returned item must meet; applied before results are cut to ``k``.

    Attributes:
        category: a category path prefix, matched level by level and case-insensitively:
            ``"Kitchen"`` matches ``"Kitchen > Cookware"`` but not ``"Kitchenware"``.
        in_stock_only: drop items whose ``in_stock`` flag is false (the storefront default).
        price_min: lowest allowed price, inclusive; items without a price never match a price bound.
        price_max: highest allowed price, inclusive.
    """

    category: str | None = None
    in_stock_only: bool = True
    price_min: float | None = None
    price_max: float | None = None


@dataclass(frozen=True)
class ScoredItem:
    """One recommended item.

    Attributes:
        item_id: the catalog id.
        score: a ranking score in ``[0, 1]``, comparable within one response only.
        reason: a short human-readable explanation, e.g. ``"Popular in Kitchen > Cookware"``.
    """

    item_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class Recommendations:
    """A ranked list of items (best first) and the strategy that produced it.

    Attributes:
        items: the items, scores in descending order.
        source: one of ``popular|category|session|similar|trending|bought_together``.
    """

    items: list[ScoredItem]
    source: str

    @property
    def item_ids(self) -> list[str]:
        """The ids of ``items`` in rank order."""
        return [item.item_id for item in self.items]
