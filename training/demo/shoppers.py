"""Shoppers with latent tastes, and the vectorised item sampler their sessions use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.demo.catalog import CatalogTruth
from training.demo.world import EVENT_DAYS, Taxonomy, format_ids

PERIOD_DAYS = 7
N_PERIODS = -(-EVENT_DAYS // PERIOD_DAYS)
TREND_BOOST = (3.0, 6.0, 10.0)  # popularity multiplier of trending items over the last periods
N_CANDIDATES = 3  # items drawn by popularity; the shopper picks the one that suits them best
EXPLORE = 0.2  # share of sessions outside the shopper's favourite leaves


@dataclass
class Shoppers:
    """Latent tastes: favourite leaves (with weights), favourite brands, a price level, activity."""

    ids: np.ndarray
    fav_leaves: np.ndarray  # (n, 3) leaf indices
    fav_cum: np.ndarray  # (n, 3) cumulative choice probabilities over fav_leaves
    fav_brands: np.ndarray  # (n, 2) brand indices
    price_z: np.ndarray  # preferred position on the within-leaf price axis
    activity: np.ndarray  # relative session rate


def leaf_popularity(truth: CatalogTruth, tax: Taxonomy) -> np.ndarray:
    """Total item popularity per leaf."""
    return np.bincount(truth.leaf, weights=truth.popularity, minlength=tax.n_leaves)


def build_shoppers(rng: np.random.Generator, n_users: int, truth: CatalogTruth, tax: Taxonomy) -> Shoppers:
    """Each shopper loves two leaves of a home department and one of a second department."""
    # Square roots: a leaf holding one hit item should not also win most shoppers' hearts.
    lp = leaf_popularity(truth, tax) ** 0.5
    n_dept = len(tax.departments)
    dept_pop = np.bincount(tax.leaf_dept, weights=lp, minlength=n_dept)
    home = rng.choice(n_dept, size=n_users, p=dept_pop / dept_pop.sum())
    second = rng.choice(n_dept, size=n_users, p=dept_pop / dept_pop.sum())
    fav = np.empty((n_users, 3), dtype=np.int64)
    brands = np.empty((n_users, 2), dtype=np.int64)
    for d in range(n_dept):
        leaves = np.flatnonzero(tax.leaf_dept == d)
        p = lp[leaves] / lp[leaves].sum()
        rows = np.flatnonzero(home == d)
        fav[rows, :2] = leaves[rng.choice(len(leaves), size=(len(rows), 2), p=p)]
        pool = tax.dept_brands[d]
        w = (np.arange(len(pool)) + 1.0) ** -0.8
        brands[rows] = pool[rng.choice(len(pool), size=(len(rows), 2), p=w / w.sum())]
        rows = np.flatnonzero(second == d)
        fav[rows, 2] = leaves[rng.choice(len(leaves), size=len(rows), p=p)]
    weights = rng.dirichlet(np.array([3.0, 2.0, 1.5]), size=n_users)
    return Shoppers(
        ids=format_ids("u", n_users),
        fav_leaves=fav,
        fav_cum=np.cumsum(weights, axis=1),
        fav_brands=brands,
        price_z=rng.normal(0.0, 0.8, n_users),
        activity=rng.lognormal(0.0, 1.0, n_users),
    )


def session_leaves(
    rng: np.random.Generator, shoppers: Shoppers, users: np.ndarray, lp: np.ndarray
) -> np.ndarray:
    """A leaf per session: one of the shopper's favourites, or (``EXPLORE``) anything popular."""
    u = rng.random(len(users))
    col = (u[:, None] > shoppers.fav_cum[users, :2]).sum(axis=1)
    leaves = shoppers.fav_leaves[users, col]
    explore = rng.random(len(users)) < EXPLORE
    leaves[explore] = rng.choice(len(lp), size=int(explore.sum()), p=lp / lp.sum())
    return leaves


class ItemSampler:
    """Draws items of a given leaf at a given week, by popularity, availability and trend.

    Weights for every (week, item) pair are flattened into one cumulative array, so drawing an
    item of leaf ``l`` in week ``p`` is one ``searchsorted`` into that week's slice of the leaf.
    """

    def __init__(self, truth: CatalogTruth) -> None:
        self.truth = truth
        n = len(truth.ids)
        starts = np.arange(N_PERIODS)[:, None] * PERIOD_DAYS
        # An item is drawable in a week only if it was listed for the whole week, so no event
        # predates its created_at or follows its removal.
        avail = (truth.created_day[None, :] <= starts) & (truth.removed_day[None, :] >= starts + PERIOD_DAYS)
        boost = np.ones((N_PERIODS, n))
        for k, factor in enumerate(TREND_BOOST[::-1]):
            boost[N_PERIODS - 1 - k, truth.trending] = factor
        weights = truth.popularity[None, :] * avail * boost
        self.cum = np.cumsum(weights.ravel())
        self.n = n

    def draw(
        self, rng: np.random.Generator, leaves: np.ndarray, periods: np.ndarray, size: int
    ) -> np.ndarray:
        """``size`` popularity-weighted candidate items per row, shape ``(len(leaves), size)``."""
        base = periods * self.n
        lo_idx = base + self.truth.leaf_start[leaves] - 1
        lo = np.where(lo_idx >= 0, self.cum[np.maximum(lo_idx, 0)], 0.0)
        hi = self.cum[base + self.truth.leaf_end[leaves] - 1]
        target = lo[:, None] + rng.random((len(leaves), size)) * (hi - lo)[:, None]
        flat = np.searchsorted(self.cum, target, side="right")
        first = self.truth.leaf_start[leaves][:, None]
        last = self.truth.leaf_end[leaves][:, None] - 1
        return np.clip(flat - base[:, None], first, last)

    def pick(
        self,
        rng: np.random.Generator,
        shoppers: Shoppers,
        users: np.ndarray,
        leaves: np.ndarray,
        periods: np.ndarray,
    ) -> np.ndarray:
        """One item per row: the candidate closest to the shopper's price level and brand taste."""
        cand = self.draw(rng, leaves, periods, N_CANDIDATES)
        price_fit = -np.abs(self.truth.price_z[cand] - shoppers.price_z[users, None])
        brand_fit = (self.truth.brand[cand][:, :, None] == shoppers.fav_brands[users][:, None, :]).any(axis=2)
        score = 0.8 * price_fit + 1.0 * brand_fit + 0.7 * rng.gumbel(size=cand.shape)
        return cand[np.arange(len(cand)), np.argmax(score, axis=1)]
