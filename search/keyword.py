"""Field-weighted BM25 (bm25s) that also takes new documents without a rebuild.

bm25s precomputes a sparse (token x document) score matrix, so it cannot add a document. Items
added or changed after indexing go to a *delta*: their token bags are kept and scored at query
time with the same Lucene BM25 formula, the base index's document count, length average and
document frequencies (plus the delta's own for new words). A delta document therefore scores as
it would have in the base index, up to the statistics drift the next rebuild removes
(:meth:`KeywordIndex.build` on the live documents, done by ``HybridSearch.compact``/``save``).

Field weights repeat a field's tokens in the bag, as the baseline does for titles: a word in the
title counts ``weights["title"]`` times. ``attributes`` is every extra catalog column (colour,
material ...) joined as text.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np
import pandas as pd

from models.errors import DataValidationError
from search.text import tokenize

FIELDS = ("title", "brand", "category", "description", "attributes")
# Catalog columns that are metadata, never item text.
NOT_TEXT = frozenset({"item_id", "price", "in_stock", "created_at", "popularity"})
INDEX_DIR = "bm25s"
STATS_FILE = "keyword.json"


def field_texts(catalog: pd.DataFrame) -> pd.DataFrame:
    """One string column per field in :data:`FIELDS`, rows aligned with ``catalog``."""
    out = pd.DataFrame(index=catalog.index)
    for name in FIELDS[:-1]:
        out[name] = catalog[name].fillna("").astype(str) if name in catalog else ""
    extra = [c for c in catalog.columns if c not in NOT_TEXT and c not in FIELDS]
    if extra:
        parts = catalog[extra].astype(object).where(catalog[extra].notna(), "").astype(str)
        out["attributes"] = parts.agg(" ".join, axis=1).str.strip()
    else:
        out["attributes"] = ""
    return out.reset_index(drop=True)


def token_bags(texts: pd.DataFrame, weights: Mapping[str, int]) -> list[list[str]]:
    """Each row's tokens, every field's tokens repeated ``weights[field]`` times (0 drops it)."""
    columns = {f: texts[f].tolist() for f in FIELDS if weights.get(f, 0) > 0}
    bags = []
    for row in range(len(texts)):
        bag: list[str] = []
        for f, values in columns.items():
            bag.extend(tokenize(values[row]) * int(weights[f]))
        bags.append(bag)
    return bags


@dataclass(frozen=True)
class KeywordIndex:
    """A bm25s base index over positions ``0..n_base-1`` plus delta documents after them.

    Immutable: :meth:`with_docs` returns a new index, so a search running in another thread
    keeps reading a consistent one.
    """

    base: bm25s.BM25
    vocab: dict[str, int]
    avgdl: float
    k1: float
    b: float
    delta: tuple[Counter, ...] = ()
    _df: np.ndarray = field(init=False, repr=False, compare=False)
    _sorted: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        indptr, indices = self.base.scores["indptr"], self.base.scores["indices"]
        object.__setattr__(self, "_df", np.diff(indptr).astype(np.int64))
        object.__setattr__(self, "_sorted", _postings_sorted(indptr, indices))

    @property
    def n_base(self) -> int:
        """Documents in the bm25s matrix."""
        return int(self.base.scores["num_docs"])

    def __len__(self) -> int:
        return self.n_base + len(self.delta)

    @classmethod
    def build(cls, bags: Sequence[list[str]], *, k1: float, b: float) -> KeywordIndex:
        """Index ``bags`` with a sorted (hence reproducible) vocabulary."""
        vocab = {t: i for i, t in enumerate(sorted({t for bag in bags for t in bag}))}
        if not vocab:
            raise DataValidationError("catalog: no row has any indexable word in the indexed fields")
        index = bm25s.BM25(k1=k1, b=b)
        # Token-id input keeps bm25s from building its own (set-ordered, so unstable) vocabulary.
        ids = [[vocab[t] for t in bag] for bag in bags]
        index.index((ids, vocab), create_empty_token=False, show_progress=False)
        avgdl = float(np.mean([len(bag) for bag in bags])) if len(bags) else 1.0
        return cls(index, vocab, max(avgdl, 1e-9), k1, b)

    def with_docs(self, bags: Sequence[list[str]]) -> KeywordIndex:
        """A new index with ``bags`` appended as delta documents (positions ``len(self)...``)."""
        added = tuple(Counter(bag) for bag in bags)
        return KeywordIndex(self.base, self.vocab, self.avgdl, self.k1, self.b, self.delta + added)

    def match(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Positions (ascending) of the documents holding any of ``tokens`` and their BM25 scores."""
        unique = list(dict.fromkeys(tokens))  # a repeated query word counts once
        ids = [self.vocab[t] for t in unique if t in self.vocab]
        rows = np.empty(0, dtype=np.int64)
        scores = np.empty(0, dtype=np.float32)
        if ids:
            dense = self.base.get_scores_from_ids(ids)
            indptr, indices = self.base.scores["indptr"], self.base.scores["indices"]
            hit = np.zeros(self.n_base, dtype=bool)  # a mask, not np.unique: no sort of the postings
            for t in ids:
                hit[indices[indptr[t] : indptr[t + 1]]] = True
            rows = np.flatnonzero(hit)
            scores = dense[rows].astype(np.float32)
        if self.delta:
            d_rows, d_scores = self._delta_scores(unique)
            rows, scores = np.concatenate([rows, d_rows]), np.concatenate([scores, d_scores])
        return rows.astype(np.int64), scores

    def coverage(self, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """Share of the distinct known ``tokens`` that each document at ``rows`` contains.

        BM25 sums per-word scores, so one frequent word can outweigh a title holding every
        word of the query; this "coordination" share lets fusion reward the complete match.
        """
        known = [t for t in dict.fromkeys(tokens) if t in self.vocab or any(t in d for d in self.delta)]
        share = np.zeros(len(rows), dtype=np.float64)
        if not known:
            return share
        indptr, indices = self.base.scores["indptr"], self.base.scores["indices"]
        in_delta = rows >= self.n_base
        for t in known:
            if t in self.vocab:
                i = self.vocab[t]
                share += self._contains(indices[indptr[i] : indptr[i + 1]], rows)
            if in_delta.any():
                share[in_delta] += [t in self.delta[r - self.n_base] for r in rows[in_delta]]
        return share / len(known)

    def _contains(self, posting: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Whether each of ``rows`` is in ``posting``: a binary search when postings are sorted."""
        if not self._sorted:
            return np.isin(rows, posting)
        if not len(posting):
            return np.zeros(len(rows), dtype=bool)
        at = np.minimum(np.searchsorted(posting, rows), len(posting) - 1)
        return posting[at] == rows

    def _delta_scores(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Lucene BM25 of the delta documents, with the base statistics (see the module notes)."""
        n = self.n_base + len(self.delta)
        scores = np.zeros(len(self.delta), dtype=np.float64)
        for t in tokens:
            has = [i for i, bag in enumerate(self.delta) if t in bag]
            if not has:
                continue
            base_df = int(self._df[self.vocab[t]]) if t in self.vocab else 0
            df = base_df + len(has)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for i in has:
                tf, dl = self.delta[i][t], sum(self.delta[i].values())
                scores[i] += idf * tf / (self.k1 * ((1 - self.b) + self.b * dl / self.avgdl) + tf)
        hit = np.flatnonzero(scores > 0)
        return (hit + self.n_base).astype(np.int64), scores[hit].astype(np.float32)

    def save(self, path: Path) -> None:
        """Write the bm25s base (pickle-free ``.npy`` + JSON) and the statistics; delta must be empty."""
        if self.delta:
            raise ValueError("rebuild the index (HybridSearch.compact) before saving it")
        self.base.save(path / INDEX_DIR, show_progress=False)
        (path / STATS_FILE).write_text(json.dumps({"avgdl": self.avgdl, "k1": self.k1, "b": self.b}))

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        """Read an index written by :meth:`save`."""
        base = bm25s.BM25.load(path / INDEX_DIR, allow_pickle=False, show_progress=False)
        stats = json.loads((path / STATS_FILE).read_text())
        return cls(base, base.vocab_dict, float(stats["avgdl"]), float(stats["k1"]), float(stats["b"]))


def _postings_sorted(indptr: np.ndarray, indices: np.ndarray) -> bool:
    """Whether every token's document list (a CSC column) is strictly ascending."""
    rising = np.diff(indices.astype(np.int64)) > 0
    ends = np.asarray(indptr[1:-1], dtype=np.int64) - 1  # a new column may start lower
    rising[ends[(ends >= 0) & (ends < len(rising))]] = True
    return bool(rising.all())
