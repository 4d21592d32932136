"""Business and shopper signals added to fused relevance: stock, popularity, personal taste.

Fused scores are on a [0, 1] scale when these are added (:func:`search.fusion.rank`), so every
weight reads as "how much relevance this signal may buy". All are small by default: they reorder
near-ties, they never lift an irrelevant item over a clearly relevant one.

Personalization is deliberately mild: the shopper's recent items (from the recommendation
online state) give a share per top-level category and per brand; a candidate earns
``weight * (category share + brand share) / 2``, at most ``weight``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from search.catalog import CatalogState


def shopper_profile(state: CatalogState, history: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Shares of top-level category and brand codes over the live items in ``history``."""
    rows = [state.positions[i] for i in dict.fromkeys(str(h) for h in history) if i in state.positions]
    if not rows:
        return None
    items = state.items
    cats = items._prefix_codes[rows, 0]
    brands = items.brand_codes[rows]
    cat_share = np.bincount(cats[cats >= 0], minlength=len(items.top_labels)) / len(rows)
    brand_share = np.bincount(brands[brands >= 0], minlength=len(items.brand_labels)) / len(rows)
    return cat_share.astype(np.float64), brand_share.astype(np.float64)


def bonus(
    state: CatalogState,
    rows: np.ndarray,
    *,
    out_of_stock_penalty: float,
    popularity_weight: float,
    personalization_weight: float,
    history: Sequence[str] = (),
) -> np.ndarray:
    """The amount added to each candidate's fused score (negative for out-of-stock items)."""
    items = state.items
    out = -out_of_stock_penalty * (~items.in_stock[rows]).astype(np.float64)
    if popularity_weight:
        pop = np.log1p(state.popularity)
        top = float(pop[state.alive].max()) if state.alive.any() else 0.0
        if top > 0:
            out += popularity_weight * pop[rows] / top
    profile = shopper_profile(state, history) if personalization_weight and len(history) else None
    if profile is not None:
        cat_share, brand_share = profile
        cats, brands = items._prefix_codes[rows, 0], items.brand_codes[rows]
        taste = np.where(cats >= 0, cat_share[np.maximum(cats, 0)], 0.0)
        taste += np.where(brands >= 0, brand_share[np.maximum(brands, 0)], 0.0)
        out += personalization_weight * taste / 2
    return out
