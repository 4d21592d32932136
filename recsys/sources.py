"""Candidate sources: learned item tables and the batch scoring every query and training step uses.

Sources (each scores the whole catalog for a batch of profiles; the best ``n`` become candidates):

* ``als``: implicit ALS; the user vector is always recomputed from the profile with implicit's
  ``recalculate_user`` (fold-in), so a known user, a shopper with fresh online events and an
  anonymous session are scored by the same code.
* ``covisit``: items seen shortly after (or before) the profile's recent items by other shoppers.
* ``copurchase``: association rules of items bought in the same order (the baseline's).
* ``content``: nearest neighbours in catalog text embedding space (reaches items without events).
* ``category``: popular items of the categories the shopper recently looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController, threadpool_limits

from models.arrays import unique_ids
from recsys.interactions import CoPurchases, _pruned_table
from recsys.profiles import Profiles

CANDIDATE_SOURCES = ("als", "covisit", "copurchase", "content", "category")
NEIGHBOURS = 100  # kept per item in the item-to-item tables (bounds artifact size and query time)
EXACT_LIMIT = 20_000  # content neighbours are exact up to this many items, HNSW beyond


_CONTROLLER: list[ThreadpoolController] = []


def _blas() -> ThreadpoolController:
    """One controller per process: building it scans the loaded libraries (ms), limiting is cheap."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread inside the block (small per-request mat-vecs; serving parallelises over
    requests). Free when BLAS already runs one thread, as in the server (``serving.app`` limits it
    process-wide): checking is far cheaper than a threadpoolctl limit and restore per request."""
    libs = [lib for lib in _blas().lib_controllers if lib.user_api == "blas"]
    if all(lib.num_threads == 1 for lib in libs):
        yield
        return
    with _blas().limit(limits=1, user_api="blas"):
        yield


def table_matrix(table: CoPurchases, n_items: int) -> sp.csr_matrix:
    """A neighbour table as an items x items CSR matrix (row = seed item), indices sorted per row.

    Sorted up front (a copy; the table keeps its best-first order): scipy would otherwise sort
    them in place on first use, and the float32 sums of the sources would change by an ulp.
    """
    matrix = sp.csr_matrix(
        (table.scores.astype(np.float32), table.indices, table.indptr), shape=(n_items, n_items)
    )
    return matrix.sorted_indices()


def covisitation(
    users: np.ndarray, items: np.ndarray, order: np.ndarray, n_items: int, *, window: int, backward: float
) -> CoPurchases:
    """Item pairs seen within ``window`` steps of each other in a shopper's sequence.

    A later item counts ``1/lag`` for the earlier one, an earlier item ``backward/lag`` for the
    later one; counts are divided by ``sqrt(n_a * n_b)`` so bestsellers do not neighbour everything.

    Args:
        users: user code per event.
        items: catalog position per event.
        order: sort key per event (time), ties kept in input order.
        n_items: catalog size.
        window: largest lag counted.
        backward: weight of the reverse direction relative to the forward one.
    """
    if len(items) < 2:
        return CoPurchases.empty(n_items)
    idx = np.lexsort((order, users))
    u, it = users[idx], items[idx]
    repeat = np.r_[False, (u[1:] == u[:-1]) & (it[1:] == it[:-1])]
    u, it = u[~repeat], it[~repeat]  # a reload of the same page is not a new visit
    rows, cols, vals = [], [], []
    for lag in range(1, window + 1):
        same = u[lag:] == u[:-lag]
        a, b = it[:-lag][same], it[lag:][same]
        distinct = a != b
        a, b = a[distinct], b[distinct]
        rows += [a, b]
        cols += [b, a]
        vals += [np.full(len(a), 1.0 / lag), np.full(len(a), backward / lag)]
    if not rows or not sum(len(r) for r in rows):
        return CoPurchases.empty(n_items)
    row, col, val = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    matrix = sp.coo_matrix((val, (row, col)), shape=(n_items, n_items)).tocsr().tocoo()
    counts = np.bincount(it, minlength=n_items).astype(np.float64)
    score = matrix.data / np.sqrt(counts[matrix.row] * counts[matrix.col])
    return _pruned_table(matrix.row.astype(np.int64), matrix.col.astype(np.int64), score, score, n_items)


def content_neighbours(embeddings: np.ndarray, *, k: int = NEIGHBOURS, block: int = 1024) -> CoPurchases:
    """Top-``k`` cosine neighbours of every item (embeddings are L2-normalised).

    Exact and blockwise up to ``EXACT_LIMIT`` items; beyond, a FAISS HNSW graph (all-pairs exact
    search is quadratic: minutes at 100k items).
    """
    n = len(embeddings)
    if n < 2:
        return CoPurchases.empty(n)
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    k = min(k, n - 1)
    if n > EXACT_LIMIT:
        row, col, val = _hnsw_pairs(emb, k)
    else:
        rows, cols, vals = [], [], []
        for lo in range(0, n, block):
            sims = emb[lo : lo + block] @ emb.T
            np.fill_diagonal(sims[:, lo : lo + block], -np.inf)
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            rows.append(np.repeat(np.arange(lo, lo + len(sims)), k))
            cols.append(top.ravel())
            vals.append(np.take_along_axis(sims, top, axis=1).ravel())
        row, col, val = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    val = val.astype(np.float64)
    keep = (val > 0) & (row != col) & (col >= 0)
    return _pruned_table(row[keep], col[keep], val[keep], val[keep], n)


def _hnsw_pairs(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approximate top-``k + 1`` inner-product neighbours of every row (the row itself dropped later)."""
    import faiss

    index = faiss.IndexHNSWFlat(emb.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = max(64, 2 * k)
    index.add(emb)
    sims, ids = index.search(emb, k + 1)
    rows = np.repeat(np.arange(len(emb)), k + 1)
    return rows, ids.ravel().astype(np.int64), sims.ravel()


def fit_als(
    conf: sp.csr_matrix, *, factors: int, regularization: float, alpha: float, iterations: int, seed: int
):
    """Fit implicit's CPU ALS on a users x items confidence matrix, single-threaded BLAS."""
    from implicit.cpu.als import AlternatingLeastSquares

    with threadpool_limits(1, "blas"):  # also silences implicit's BLAS warning at construction
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=seed,
            num_threads=1,
        )
        model.fit(conf.astype(np.float32), show_progress=False)
    return model


def als_from_factors(item_factors: np.ndarray, *, regularization: float, alpha: float):
    """An implicit ALS model that can fold users in (``recalculate_user``) from saved item factors."""
    from implicit.cpu.als import AlternatingLeastSquares

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=item_factors.shape[1], regularization=regularization, alpha=alpha, num_threads=1
        )
    model.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
    return model


@dataclass
class SourceTables:
    """Everything the sources need at query time (all arrays indexed by catalog position)."""

    als: object | None  # implicit ALS model (item factors), None when there were no events
    covisit: sp.csr_matrix
    copurchase: sp.csr_matrix
    content: sp.csr_matrix
    popularity: np.ndarray  # relative decayed popularity in [0, 1]
    leaf: np.ndarray  # leaf category code per item (-1: none)
    top: np.ndarray  # top-level category code per item (-1: none)
    _onehots: dict = field(default_factory=dict, repr=False)

    def onehot(self, name: str, codes: np.ndarray) -> sp.csr_matrix:
        """``items x codes`` indicator matrix, cached under ``name`` (built once, not per query)."""
        found = self._onehots.get(name)
        if found is None:
            known = codes >= 0
            n_codes = int(codes.max()) + 1 if known.any() else 1
            found = self._onehots[name] = sp.csr_matrix(
                (np.ones(known.sum(), np.float32), (np.flatnonzero(known), codes[known])),
                shape=(len(codes), n_codes),
            )
        return found

    def user_vectors(self, profiles: Profiles) -> np.ndarray:
        """Fold-in ALS user vectors of the batch (zeros without a model or history)."""
        if self.als is None:
            return np.zeros((profiles.n_users, 1), np.float32)
        with one_blas_thread():
            return self.als.recalculate_user(np.arange(profiles.n_users), profiles.conf)  # type: ignore[attr-defined]

    def score(self, profiles: Profiles) -> dict[str, object]:
        """Per source, what ranks the catalog for each user of the batch.

        ``als``: dense ``users x items`` scores; ``covisit``/``copurchase``/``content``: sparse
        ``users x items`` CSR rows (sorted indices; absent means 0); ``category``: per-user shares
        of the leaf and top-level categories (see ``category_rows``). Only ALS is dense: the
        sparse sources and category popularity cost what the profile touches, not the catalog size.
        """
        n_items = len(self.popularity)
        scores: dict[str, object] = {}
        if self.als is not None:
            vectors = self.user_vectors(profiles)
            scores["als"] = vectors @ np.asarray(self.als.item_factors).T  # type: ignore[attr-defined]
        else:
            scores["als"] = np.zeros((profiles.n_users, n_items), np.float32)
        for name, seeds, table in (
            ("covisit", profiles.recent, self.covisit),
            ("copurchase", profiles.bought, self.copurchase),
            ("content", profiles.recent, self.content),
        ):
            rows = (seeds @ table).tocsr()
            rows.sort_indices()
            scores[name] = rows
        scores["category"] = self.category_shares(profiles)
        return scores

    def cached(self, name: str, build):
        """A derived array built once per tables object (per model), not per query."""
        found = self._onehots.get(name)
        if found is None:
            found = self._onehots[name] = build()
        return found

    def category_shares(self, profiles: Profiles) -> tuple[np.ndarray, np.ndarray]:
        """Recent weight per leaf and per top-level category, with a trailing 0 column for "none"."""
        out = []
        for name, codes in (("leaf", self.leaf), ("top", self.top)):
            share = (
                (profiles.recent @ self.onehot(name, codes)).toarray()
                if codes.max(initial=-1) >= 0
                else (np.zeros((profiles.n_users, 1), np.float32))
            )
            out.append(np.hstack([share, np.zeros((len(share), 1), share.dtype)]))
        return out[0], out[1]

    def category_score(self, shares: tuple[np.ndarray, np.ndarray], u: int, items: np.ndarray) -> np.ndarray:
        """Category-popularity score of ``items`` for user ``u``: (leaf + top share / 2) x popularity."""
        leaf, top = shares
        return (leaf[u, self.leaf[items]] + 0.5 * top[u, self.top[items]]) * self.popularity[items]

    def category_pool(self, shares: tuple[np.ndarray, np.ndarray], u: int, depth: int) -> np.ndarray:
        """The ``depth`` most popular members of each category the user touched: a superset of the
        category source's top ``depth`` (within a category the score follows popularity)."""
        pools = []
        for name, codes, share in (("leaf", self.leaf, shares[0]), ("top", self.top, shares[1])):
            members = self.cached(f"members_{name}", lambda codes=codes: _members(codes, self.popularity))
            for code in np.flatnonzero(share[u, :-1] > 0):
                pools.append(members[code][:depth])
        return unique_ids(np.concatenate(pools)) if pools else np.zeros(0, np.int64)


def _members(codes: np.ndarray, popularity: np.ndarray) -> list[np.ndarray]:
    """Per code, its items by popularity (ties by position)."""
    order = np.lexsort((np.arange(len(codes)), -popularity))
    ranked = codes[order]
    by_code = np.argsort(ranked, kind="stable")
    bounds = np.searchsorted(ranked[by_code], np.arange(int(codes.max(initial=-1)) + 2))
    return [order[by_code[bounds[c] : bounds[c + 1]]] for c in range(len(bounds) - 1)]
