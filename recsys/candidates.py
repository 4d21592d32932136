"""Merge the sources' top items into one candidate set per user and describe each candidate.

The same code builds the re-ranker's training rows (offline) and the rows it scores per request
(online), so the features can never drift between training and serving.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.profiles import Profiles
from recsys.sources import SOURCE_NAMES, SourceTables

FEATURE_NAMES = (
    *(f"{s}_{kind}" for s in SOURCE_NAMES for kind in ("score", "rank")),
    "n_sources",
    "popularity",
    "pop_candidate_rank",
    "days_since_last_event",
    "days_listed",
    "leaf_affinity",
    "top_affinity",
    "brand_affinity",
    "price_gap",
    "last_item_covisit",
    "profile_size",
)


@dataclass(frozen=True)
class ItemAttributes:
    """Per-item values the features read (catalog positions)."""

    popularity: np.ndarray  # relative decayed popularity in [0, 1]
    days_since_last_event: np.ndarray  # NaN: never seen in events
    days_listed: np.ndarray  # NaN: unknown listing date
    log_price: np.ndarray  # NaN: unknown price
    brand: np.ndarray  # brand code, -1 when unknown


@dataclass
class CandidateSet:
    """Candidates of a batch: per user a slice of ``items``/``features`` (``bounds[u]:bounds[u+1]``).

    Attributes:
        items: catalog positions.
        features: ``float32`` rows in ``FEATURE_NAMES`` order.
        bounds: row offsets per user.
        best_source: per candidate, the index (in ``SOURCE_NAMES``, or ``len`` for popularity) of
            the source that ranked it highest: the reason shown for it.
    """

    items: np.ndarray
    features: np.ndarray
    bounds: np.ndarray
    best_source: np.ndarray

    def user(self, u: int) -> slice:
        """The rows of user ``u``."""
        return slice(int(self.bounds[u]), int(self.bounds[u + 1]))


def _row_shares(matrix: sp.csr_matrix, onehot: sp.csr_matrix) -> np.ndarray:
    """Per user, the share of ``matrix`` weight on each code (dense users x codes)."""
    totals = np.asarray(matrix.sum(axis=1)).ravel()
    shares = (matrix @ onehot).toarray()
    return shares / np.maximum(totals, 1e-12)[:, None]


def _ranked(items: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` best items with a positive score: score descending, ties by position."""
    keep = scores > 0
    items, scores = items[keep], scores[keep]
    return items[np.lexsort((items, -scores))[:n]]


def _sparse_lookup(
    rows: sp.csr_matrix, u: int, items: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indices, values)`` of row ``u`` (sorted indices) and its values at ``items`` (0 where absent)."""
    lo, hi = rows.indptr[u], rows.indptr[u + 1]
    idx, val = rows.indices[lo:hi], rows.data[lo:hi]
    at = np.minimum(np.searchsorted(idx, items), max(len(idx) - 1, 0))
    found = (idx[at] == items) if len(idx) else np.zeros(len(items), bool)
    return idx, val, np.where(found, val[at] if len(idx) else 0.0, 0.0)


def _source_tops(scores: dict, tables: SourceTables, u: int, blocked: np.ndarray, n: int) -> list[np.ndarray]:
    """Per source (``SOURCE_NAMES`` order), user ``u``'s top ``n`` items, best first."""
    als = scores["als"][u]
    if len(blocked):
        als = als.copy()
        als[blocked] = -np.inf
    top = np.argpartition(-als, n - 1)[:n]
    top = top[np.isfinite(als[top])]
    tops = [top[np.lexsort((top, -als[top]))]]
    for name in ("covisit", "copurchase", "content"):
        rows = scores[name]
        lo, hi = rows.indptr[u], rows.indptr[u + 1]
        idx, val = rows.indices[lo:hi], rows.data[lo:hi]
        allowed = ~np.isin(idx, blocked) if len(blocked) else np.ones(len(idx), bool)
        tops.append(_ranked(idx[allowed], val[allowed], n))
    pool = tables.category_pool(scores["category"], u, n + len(blocked))
    pool = pool[~np.isin(pool, blocked)] if len(blocked) else pool
    tops.append(_ranked(pool, tables.category_score(scores["category"], u, pool), n))
    return tops


def generate(
    profiles: Profiles,
    tables: SourceTables,
    attrs: ItemAttributes,
    *,
    per_source: int,
    blocked: sp.csr_matrix | None = None,
) -> CandidateSet:
    """Top ``per_source`` items of every source plus popular fillers, merged per user, with features.

    Every user is scored on their own row only, so a user's candidates and features do not depend
    on who else is in the batch (batch answers equal single answers).

    Args:
        profiles: the batch.
        tables: the sources.
        attrs: item attributes for the features.
        per_source: items taken from each source.
        blocked: users x items, non-zero where an item must not be a candidate (e.g. already seen).
    """
    scores = tables.score(profiles)
    n_users, n_items = profiles.n_users, len(attrs.popularity)
    n = min(per_source, n_items)
    blocked = blocked.tocsr() if blocked is not None else None
    pop_order = tables.cached("pop_order", lambda: np.lexsort((np.arange(n_items), -attrs.popularity)))
    last = profiles.recent.multiply(profiles.recent >= 0.999).tocsr()
    last_covisit = (last @ tables.covisit).tocsr()
    last_covisit.sort_indices()
    leaf_share = _row_shares(profiles.recent, tables.onehot("leaf", tables.leaf))
    top_share = _row_shares(profiles.recent, tables.onehot("top", tables.top))
    brand_share = _row_shares(profiles.recent, tables.onehot("brand", attrs.brand))
    log_price = attrs.log_price
    sizes = np.diff(profiles.seen.indptr)

    items_out, feats_out, best_out, bounds = [], [], [], [0]
    for u in range(n_users):
        if blocked is not None:
            no = np.sort(blocked.indices[blocked.indptr[u] : blocked.indptr[u + 1]])
        else:
            no = np.zeros(0, np.int64)
        per_user = _source_tops(scores, tables, u, no, n)
        pops = pop_order[: n + len(no)]
        pops = (pops[~np.isin(pops, no)] if len(no) else pops)[:n]
        cand = np.unique(np.concatenate([*per_user, pops]))
        rank_cols = np.full((len(SOURCE_NAMES) + 1, len(cand)), float(n), np.float32)
        for j, found in enumerate([*per_user, pops]):
            rank_cols[j, np.searchsorted(cand, found)] = np.arange(len(found))
        feats = np.empty((len(cand), len(FEATURE_NAMES)), np.float32)
        feats[:, 0] = scores["als"][u][cand]  # type: ignore[index]
        for j, name in enumerate(SOURCE_NAMES[1:4], start=1):
            feats[:, 2 * j] = _sparse_lookup(scores[name], u, cand)[2]
        feats[:, 8] = tables.category_score(scores["category"], u, cand)  # type: ignore[arg-type]
        feats[:, 1 : 2 * len(SOURCE_NAMES) : 2] = rank_cols[:-1].T
        base = 2 * len(SOURCE_NAMES)
        feats[:, base] = (rank_cols[:-1] < n).sum(axis=0)
        feats[:, base + 1] = attrs.popularity[cand]
        feats[:, base + 2] = rank_cols[-1]
        feats[:, base + 3] = attrs.days_since_last_event[cand]
        feats[:, base + 4] = attrs.days_listed[cand]
        feats[:, base + 5] = _share(leaf_share[u], tables.leaf[cand])
        feats[:, base + 6] = _share(top_share[u], tables.top[cand])
        feats[:, base + 7] = _share(brand_share[u], attrs.brand[cand])
        feats[:, base + 8] = _price_gap(profiles.recent, u, log_price, cand)
        feats[:, base + 9] = _sparse_lookup(last_covisit, u, cand)[2]
        feats[:, base + 10] = np.log1p(sizes[u])
        items_out.append(cand)
        feats_out.append(feats)
        best_out.append(np.argmin(rank_cols, axis=0))
        bounds.append(bounds[-1] + len(cand))
    return CandidateSet(
        np.concatenate(items_out).astype(np.int64) if items_out else np.zeros(0, np.int64),
        np.concatenate(feats_out) if feats_out else np.zeros((0, len(FEATURE_NAMES)), np.float32),
        np.asarray(bounds, np.int64),
        np.concatenate(best_out) if best_out else np.zeros(0, np.int64),
    )


def _share(shares: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The user's share of each item's code (0 for items without one)."""
    return np.where(codes >= 0, shares[np.maximum(codes, 0)], 0.0)


def _price_gap(recent: sp.csr_matrix, u: int, log_price: np.ndarray, items: np.ndarray) -> np.ndarray:
    """|log price - the recency-weighted mean log price of the user's recent items| (NaN if unknown)."""
    lo, hi = recent.indptr[u], recent.indptr[u + 1]
    seen, weight = recent.indices[lo:hi], recent.data[lo:hi]
    priced = np.isfinite(log_price[seen]) & (weight > 0)
    if not priced.any():
        return np.full(len(items), np.nan)
    mean = float(np.average(log_price[seen][priced], weights=weight[priced]))
    return np.abs(log_price[items] - mean)
