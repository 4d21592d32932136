"""Merge the sources' top items into candidate sets and describe each candidate; the batch path.

The same code builds the re-ranker's training rows (offline) and the rows it scores per request
(online), so the features can never drift between training and serving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp

from models.arrays import unique_ids
from recsys.profiles import Profiles
from recsys.sources import CANDIDATE_SOURCES, SourceTables

FEATURE_NAMES = (
    *(f"{s}_{kind}" for s in CANDIDATE_SOURCES for kind in ("score", "rank")),
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
        best_source: per candidate, the index (in ``CANDIDATE_SOURCES``, or ``len`` for popularity) of
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
    if len(scores) > n:  # sort only the top n and whatever ties with the n-th (same answer)
        nth = np.partition(scores, len(scores) - n)[len(scores) - n]
        keep = scores >= nth
        items, scores = items[keep], scores[keep]
    return items[np.lexsort((items, -scores))[:n]]


def _lookup(row: tuple[np.ndarray, np.ndarray], items: np.ndarray) -> np.ndarray:
    """Values of a sparse row ``(sorted indices, values)`` at ``items`` (0 where absent)."""
    idx, val = row
    if not len(idx):
        return np.zeros(len(items))
    at = np.minimum(np.searchsorted(idx, items), len(idx) - 1)
    return np.where(idx[at] == items, val[at], 0.0)


@dataclass(frozen=True)
class UserSignals:
    """What the sources say about one user: the input of ``user_candidates``.

    The batch path (``generate``, scipy over many users) and the single-user serving path
    (``recsys.candidates_request``, plain numpy) both build this, so features are computed by one code.

    Attributes:
        als_top: the user's best ALS items (blocked ones removed), best first.
        als_at: ALS score of given items.
        rows: ``covisit``, ``copurchase``, ``content`` and ``last_covisit`` scores as sparse
            rows ``(sorted indices, values)``.
        shares: leaf and top-level category weight as 1-row arrays with a trailing 0 column
            (what ``SourceTables.category_score`` reads, user 0).
        affinity: leaf, top-level and brand shares of the recent weight (dense per code).
        recent: ``(items, recency weights)`` of the profile, non-zero weights only.
        size: distinct items in the profile.
        blocked: sorted items that must not be candidates.
    """

    als_top: np.ndarray
    als_at: Callable[[np.ndarray], np.ndarray]
    rows: dict[str, tuple[np.ndarray, np.ndarray]]
    shares: tuple[np.ndarray, np.ndarray]
    affinity: tuple[np.ndarray, np.ndarray, np.ndarray]
    recent: tuple[np.ndarray, np.ndarray]
    size: int
    blocked: np.ndarray


def als_top(scores: np.ndarray, blocked: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` best items of a dense ALS score row, blocked items removed, ties by position."""
    if len(blocked):
        scores = scores.copy()
        scores[blocked] = -np.inf
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.isfinite(scores[top])]
    return top[np.lexsort((top, -scores[top]))]


def _source_tops(sig: UserSignals, tables: SourceTables, n: int) -> list[np.ndarray]:
    """Per source (``CANDIDATE_SOURCES`` order), the user's top ``n`` items, best first."""
    blocked = sig.blocked
    tops = [sig.als_top]
    for name in ("covisit", "copurchase", "content"):
        idx, val = sig.rows[name]
        if len(blocked):
            allowed = ~np.isin(idx, blocked)
            idx, val = idx[allowed], val[allowed]
        tops.append(_ranked(idx, val, n))
    pool = tables.category_pool(sig.shares, 0, n + len(blocked))
    pool = pool[~np.isin(pool, blocked)] if len(blocked) else pool
    tops.append(_ranked(pool, tables.category_score(sig.shares, 0, pool), n))
    return tops


def pop_order(tables: SourceTables, attrs: ItemAttributes) -> np.ndarray:
    """Items by popularity, ties by position (cached on the tables)."""
    n_items = len(attrs.popularity)
    return tables.cached("pop_order", lambda: np.lexsort((np.arange(n_items), -attrs.popularity)))


def user_candidates(
    sig: UserSignals, tables: SourceTables, attrs: ItemAttributes, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One user's merged candidates: ``(items, features, best source)``, items ascending."""
    no = sig.blocked
    per_user = _source_tops(sig, tables, n)
    pops = pop_order(tables, attrs)[: n + len(no)]
    pops = (pops[~np.isin(pops, no)] if len(no) else pops)[:n]
    cand = unique_ids(np.concatenate([*per_user, pops]))
    rank_cols = np.full((len(CANDIDATE_SOURCES) + 1, len(cand)), float(n), np.float32)
    for j, found in enumerate([*per_user, pops]):
        rank_cols[j, np.searchsorted(cand, found)] = np.arange(len(found))
    feats = np.empty((len(cand), len(FEATURE_NAMES)), np.float32)
    feats[:, 0] = sig.als_at(cand)
    for j, name in enumerate(CANDIDATE_SOURCES[1:4], start=1):
        feats[:, 2 * j] = _lookup(sig.rows[name], cand)
    feats[:, 8] = tables.category_score(sig.shares, 0, cand)
    feats[:, 1 : 2 * len(CANDIDATE_SOURCES) : 2] = rank_cols[:-1].T
    base = 2 * len(CANDIDATE_SOURCES)
    feats[:, base] = (rank_cols[:-1] < n).sum(axis=0)
    feats[:, base + 1] = attrs.popularity[cand]
    feats[:, base + 2] = rank_cols[-1]
    feats[:, base + 3] = attrs.days_since_last_event[cand]
    feats[:, base + 4] = attrs.days_listed[cand]
    feats[:, base + 5] = _share(sig.affinity[0], tables.leaf[cand])
    feats[:, base + 6] = _share(sig.affinity[1], tables.top[cand])
    feats[:, base + 7] = _share(sig.affinity[2], attrs.brand[cand])
    feats[:, base + 8] = _price_gap(*sig.recent, attrs.log_price, cand)
    feats[:, base + 9] = _lookup(sig.rows["last_covisit"], cand)
    feats[:, base + 10] = np.log1p(sig.size)
    return cand, feats, np.argmin(rank_cols, axis=0)


def assemble(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> CandidateSet:
    """A ``CandidateSet`` from per-user ``user_candidates`` results, in order."""
    bounds = np.zeros(len(parts) + 1, np.int64)
    bounds[1:] = np.cumsum([len(p[0]) for p in parts])
    if not parts:
        return CandidateSet(
            np.zeros(0, np.int64),
            np.zeros((0, len(FEATURE_NAMES)), np.float32),
            bounds,
            np.zeros(0, np.int64),
        )
    return CandidateSet(
        np.concatenate([p[0] for p in parts]).astype(np.int64),
        np.concatenate([p[1] for p in parts]),
        bounds,
        np.concatenate([p[2] for p in parts]).astype(np.int64),
    )


def _csr_row(rows: sp.csr_matrix, u: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = rows.indptr[u], rows.indptr[u + 1]
    return rows.indices[lo:hi], rows.data[lo:hi]


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
    on who else is in the batch (batch answers equal single answers). This is the batch (training)
    path; serving scores one user with ``recsys.candidates_request`` through the same ``user_candidates``.

    Args:
        profiles: the batch.
        tables: the sources.
        attrs: item attributes for the features.
        per_source: items taken from each source.
        blocked: users x items, non-zero where an item must not be a candidate (e.g. already seen).
    """
    scores = tables.score(profiles)
    n = min(per_source, len(attrs.popularity))
    blocked = blocked.tocsr() if blocked is not None else None
    last = profiles.recent.multiply(profiles.recent >= 0.999).tocsr()
    last_covisit = (last @ tables.covisit).tocsr()
    last_covisit.sort_indices()
    leaf_share = _row_shares(profiles.recent, tables.onehot("leaf", tables.leaf))
    top_share = _row_shares(profiles.recent, tables.onehot("top", tables.top))
    brand_share = _row_shares(profiles.recent, tables.onehot("brand", attrs.brand))
    sizes = np.diff(profiles.seen.indptr)
    leaf, top = cast(tuple[np.ndarray, np.ndarray], scores["category"])
    parts = []
    for u in range(profiles.n_users):
        no = np.sort(_csr_row(blocked, u)[0]) if blocked is not None else np.zeros(0, np.int64)
        als: np.ndarray = scores["als"][u]  # type: ignore[index]
        sig = UserSignals(
            als_top=als_top(als, no, n),
            als_at=als.__getitem__,
            rows={
                **{name: _csr_row(scores[name], u) for name in ("covisit", "copurchase", "content")},  # type: ignore[arg-type]
                "last_covisit": _csr_row(last_covisit, u),
            },
            shares=(leaf[u : u + 1], top[u : u + 1]),
            affinity=(leaf_share[u], top_share[u], brand_share[u]),
            recent=_csr_row(profiles.recent, u),
            size=int(sizes[u]),
            blocked=no,
        )
        parts.append(user_candidates(sig, tables, attrs, n))
    return assemble(parts)


def _share(shares: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The user's share of each item's code (0 for items without one)."""
    return np.where(codes >= 0, shares[np.maximum(codes, 0)], 0.0)


def _price_gap(seen: np.ndarray, weight: np.ndarray, log_price: np.ndarray, items: np.ndarray) -> np.ndarray:
    """|log price - the recency-weighted mean log price of the user's recent items| (NaN if unknown)."""
    priced = np.isfinite(log_price[seen]) & (weight > 0)
    if not priced.any():
        return np.full(len(items), np.nan)
    mean = float(np.average(log_price[seen][priced], weights=weight[priced]))
    return np.abs(log_price[items] - mean)
