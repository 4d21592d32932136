"""Item vectors in FAISS, plus a tail of vectors added since the index was built.

The FAISS index is built once (``fit``/``compact``) and never mutated afterwards, so searches in
several threads read it safely; vectors of items added later live in a small numpy *tail* and
are scored exactly. Positions are shared with the keyword side: base vectors are positions
``0..n_base-1``, the tail follows.

Exact flat inner product (vectors are unit length, so it is cosine) is the default; above
``hnsw_min_items`` vectors an HNSW graph answers unfiltered queries, and filtered ones whose
filter allows at least :data:`BROAD_FILTER_SHARE` of the positions: the graph walk skips the
disallowed ones (FAISS's ``IDSelectorBitmap`` in the HNSW search), as accurate as an unfiltered
query when most of the graph is allowed, and a fraction of an exact scan's cost
(docs/BENCHMARKS.md, "Capacity per core"). A narrower filter scores the allowed positions exactly
(a flat scan restricted by the bitmap -- over the HNSW graph's own flat storage when there is a
graph -- or a product over the gathered subset when it is small), and a graph walk that finds
fewer than ``k`` allowed neighbours falls back to that exact scan, so a filter can never empty a
page that a post-filtered top-k would have.

One query is searched with one OpenMP thread: serving parallelises over requests, and FAISS's
thread team per query was several times slower on a busy machine (spin-waiting threads). For the
same reason exact products over gathered vectors use :func:`_dot` (numpy's own loop), not BLAS,
whose thread team also serialised concurrent requests (docs/ARCHITECTURE.md). The base vectors are a
zero-copy view of FAISS's own storage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

INDEX_FILE = "vectors.faiss"
# Allowed sets up to this size are gathered and scored directly; larger ones are a FAISS scan
# with a bitmap. Gathering copies the vectors, and once the copy passes malloc's mmap threshold
# the scan is faster (docs/benchmarks/search.md has the measurements).
GATHER_MAX = 512
# A filter allowing at least this share of an HNSW index's positions walks the graph (see above).
BROAD_FILTER_SHARE = 0.5


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run a single-query FAISS search on one OpenMP thread (see the module notes)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def storage_view(index: faiss.Index) -> np.ndarray:
    """The vectors a flat or HNSW-flat index stores, as a read-only numpy view (no copy)."""
    # faiss' SWIG stubs do not declare storage/get_xb/sel/SearchParametersHNSW, which all exist.
    flat = index if isinstance(index, faiss.IndexFlat) else faiss.downcast_index(index.storage)  # type: ignore[attr-defined]
    view = faiss.rev_swig_ptr(flat.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)  # type: ignore[attr-defined]
    view.flags.writeable = False
    return view


def build_faiss(vectors: np.ndarray, *, hnsw_min_items: int, hnsw_m: int = 32, ef_construction: int = 80):
    """``IndexFlatIP`` or, from ``hnsw_min_items`` vectors on, ``IndexHNSWFlat`` (inner product)."""
    dim = vectors.shape[1]
    if len(vectors) >= hnsw_min_items:
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
    else:
        index = faiss.IndexFlatIP(dim)  # type: ignore[assignment]
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


@dataclass(frozen=True)
class VectorIndex:
    """Base vectors (with their FAISS index) and the tail; immutable like ``KeywordIndex``."""

    index: faiss.Index
    base: np.ndarray
    tail: np.ndarray
    ef_search: int = 128

    @classmethod
    def build(cls, vectors: np.ndarray, *, hnsw_min_items: int, ef_search: int = 128) -> VectorIndex:
        """Index ``vectors`` (unit rows, float32)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = build_faiss(vectors, hnsw_min_items=hnsw_min_items)
        return cls(index, storage_view(index), np.empty((0, vectors.shape[1]), np.float32), ef_search)

    @property
    def approximate(self) -> bool:
        """Whether unfiltered queries go through HNSW (not exact)."""
        return isinstance(self.index, faiss.IndexHNSWFlat)

    def __len__(self) -> int:
        return len(self.base) + len(self.tail)

    def with_vectors(self, vectors: np.ndarray) -> VectorIndex:
        """A new index with ``vectors`` appended to the tail."""
        tail = np.vstack([self.tail, np.asarray(vectors, dtype=np.float32)])
        return VectorIndex(self.index, self.base, tail, self.ef_search)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The vectors at ``rows`` (positions in base then tail)."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(self.tail):  # the usual case: one gather, no masks
            return np.take(self.base, rows, axis=0)
        out = np.empty((len(rows), self.base.shape[1]), dtype=np.float32)
        in_base = rows < len(self.base)
        out[in_base] = self.base[rows[in_base]]
        out[~in_base] = self.tail[rows[~in_base] - len(self.base)]
        return out

    def similarity(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosine of ``query`` to the vectors at ``rows``."""
        return _dot(self.vectors(rows), query) if len(rows) else np.empty(0, dtype=np.float32)

    def top(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest positions (best first) and their cosines.

        Args:
            query: a unit ``(dim,)`` vector.
            k: how many to return at most.
            allowed: a boolean mask over all positions, or ``None`` for every position. With a
                mask the search is exact over the allowed positions (see the module notes).
        """
        n = len(self.base)
        if allowed is not None and allowed.sum() <= GATHER_MAX:
            rows = np.flatnonzero(allowed)
            return _best(rows, self.similarity(query, rows), k)
        rows, sims = self._search_base(query, min(k, n), None if allowed is None else allowed[:n])
        tail_rows = np.arange(n, len(self), dtype=np.int64)
        if allowed is not None:
            tail_rows = tail_rows[allowed[n:]]
        if len(tail_rows):
            rows = np.concatenate([rows, tail_rows])
            sims = np.concatenate([sims, _dot(self.tail[tail_rows - n], query)])
        return _best(rows, sims, k)

    def _search_base(self, query: np.ndarray, k: int, allowed: np.ndarray | None):
        """FAISS top-``k`` of the base: the HNSW graph (unfiltered, or a broad filter) or an exact
        scan restricted to ``allowed`` (the flat storage of HNSW)."""
        if not k:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        if allowed is None or not self.approximate:
            return self._faiss_search(query, k, allowed, graph=self.approximate)
        if allowed.mean() >= BROAD_FILTER_SHARE:
            rows, sims = self._faiss_search(query, k, allowed, graph=True)
            if len(rows) >= min(k, int(allowed.sum())):
                return rows, sims
        return self._faiss_search(query, k, allowed, graph=False)

    def _faiss_search(self, query: np.ndarray, k: int, allowed: np.ndarray | None, *, graph: bool):
        bitmap = None
        index = self.index
        # faiss' SWIG stubs do not declare sel/SearchParametersHNSW/storage, which all exist.
        selector = None
        if allowed is not None:
            bitmap = np.packbits(allowed, bitorder="little")  # kept alive during the search
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
        if graph:
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))  # type: ignore[attr-defined]
            if selector is not None:
                params.sel = selector
        elif selector is not None:
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            if self.approximate:  # the graph's own flat storage: exact, and no copy of the vectors
                index = faiss.downcast_index(index.storage)  # type: ignore[attr-defined]
        else:
            params = None
        with _one_thread():
            sims, ids = index.search(query[None, :].astype(np.float32), k, params=params)
        del bitmap
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), sims[0][keep]

    def save(self, path: Path) -> None:
        """``faiss.write_index`` of the base; the tail must be empty (compact first)."""
        if len(self.tail):
            raise ValueError("compact the index before saving it")
        faiss.write_index(self.index, str(path / INDEX_FILE))

    @classmethod
    def load(cls, path: Path, *, ef_search: int = 128) -> VectorIndex:
        """Read the index and take the vectors back out of it (flat and HNSW storage both keep them).

        Read into memory, not mapped: FAISS's ``IO_FLAG_MMAP_IFC`` would let worker processes
        share the vectors, but reads from its mapping were 9x (HNSW walk) to 150x (gathering
        candidate vectors) slower than from memory here (docs/BENCHMARKS.md, "Capacity per core").
        """
        index = faiss.read_index(str(path / INDEX_FILE))
        return cls(index, storage_view(index), np.empty((0, index.d), dtype=np.float32), ef_search)


def _dot(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``matrix @ query`` on the calling thread (einsum's own loop; no BLAS thread team)."""
    return np.einsum("ij,j->i", matrix, query.astype(np.float32, copy=False))


def _best(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best ``(rows, scores)``, best first, ties by lower position."""
    if len(rows) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]
