"""Item vectors in FAISS, plus a tail of vectors added since the index was built.

The FAISS index is built once (``fit``/``compact``) and never mutated afterwards, so searches in
several threads read it safely; vectors of items added later live in a small numpy *tail* and
are scored exactly. Positions are shared with the keyword side: base vectors are positions
``0..n_base-1``, the tail follows.

Exact flat inner product (vectors are unit length, so it is cosine) is the default; above
``hnsw_min_items`` vectors an HNSW graph answers unfiltered queries. Filtered queries never ask
the approximate index: they score the allowed positions exactly (a matrix-vector product over the
subset), so a filter can never empty a page that a post-filtered top-k would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

INDEX_FILE = "vectors.faiss"


def build_faiss(vectors: np.ndarray, *, hnsw_min_items: int, hnsw_m: int = 32, ef_construction: int = 80):
    """``IndexFlatIP`` or, from ``hnsw_min_items`` vectors on, ``IndexHNSWFlat`` (inner product)."""
    dim = vectors.shape[1]
    if len(vectors) >= hnsw_min_items:
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
    else:
        index = faiss.IndexFlatIP(dim)
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
        return cls(index, vectors, np.empty((0, vectors.shape[1]), dtype=np.float32), ef_search)

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
        out = np.empty((len(rows), self.base.shape[1]), dtype=np.float32)
        in_base = rows < len(self.base)
        out[in_base] = self.base[rows[in_base]]
        out[~in_base] = self.tail[rows[~in_base] - len(self.base)]
        return out

    def similarity(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosine of ``query`` to the vectors at ``rows``."""
        return self.vectors(rows) @ query if len(rows) else np.empty(0, dtype=np.float32)

    def top(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest positions (best first) and their cosines.

        Args:
            query: a unit ``(dim,)`` vector.
            k: how many to return at most.
            allowed: a boolean mask over all positions, or ``None`` for every position. With a
                mask the search is exact over the allowed positions (see the module notes).
        """
        if allowed is not None:
            rows = np.flatnonzero(allowed)
            return _best(rows, self.similarity(query, rows), k)
        k_base = min(k, len(self.base))
        if k_base:
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k)) if self.approximate else None
            sims, ids = self.index.search(query[None, :].astype(np.float32), k_base, params=params)
            keep = ids[0] >= 0
            rows, sims_ = ids[0][keep].astype(np.int64), sims[0][keep]
        else:
            rows, sims_ = np.empty(0, np.int64), np.empty(0, np.float32)
        if len(self.tail):
            tail_rows = np.arange(len(self.base), len(self), dtype=np.int64)
            rows = np.concatenate([rows, tail_rows])
            sims_ = np.concatenate([sims_, self.tail @ query])
        return _best(rows, sims_, k)

    def save(self, path: Path) -> None:
        """``faiss.write_index`` of the base; the tail must be empty (compact first)."""
        if len(self.tail):
            raise ValueError("compact the index before saving it")
        faiss.write_index(self.index, str(path / INDEX_FILE))

    @classmethod
    def load(cls, path: Path, *, ef_search: int = 128) -> VectorIndex:
        """Read the index and take the vectors back out of it (flat and HNSW storage both keep them)."""
        index = faiss.read_index(str(path / INDEX_FILE))
        base = index.reconstruct_n(0, index.ntotal).astype(np.float32)
        return cls(index, base, np.empty((0, base.shape[1]), dtype=np.float32), ef_search)


def _best(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best ``(rows, scores)``, best first, ties by lower position."""
    if len(rows) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]
