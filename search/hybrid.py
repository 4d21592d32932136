"""Hybrid product search: field-weighted BM25 + MiniLM vectors in FAISS, fused, with live updates.

A query is spell-corrected against the catalog vocabulary (:mod:`search.spelling`), then
gathers candidates **within the filters**: the ``keyword_k`` best keyword matches plus the
``semantic_k`` nearest vectors (cosine >= ``min_similarity``) among the allowed positions. Both
scores of every candidate are fused (:mod:`search.fusion`), business and shopper signals added
(:mod:`search.signals`) and the list cut to ``k``. Filters apply before any top-k, so a filtered
page is never emptied by post-filtering; ``total`` and facets count every match.

Queries are embedded with ONNX Runtime (:class:`embedding.encoder.QueryEncoder`); torch is only
used at training time to export the graph (:mod:`embedding.export`), never imported when serving.

Saved artifacts are pickle-free: bm25s ``.npy``/JSON, a FAISS index (``faiss.write_index``), the
ONNX graph with ``tokenizer.json``, item metadata as parquet and parameters in ``meta.json``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embedding.encoder import QueryEncoder
from models.arrays import union_ids
from models.artifact import check_is_fitted
from models.base import ModelBase
from models.errors import ArtifactError, InvalidInputError
from search import catalog as cat
from search import signals
from search.bm25 import _check_k, _check_text, _data_window
from search.fusion import METHODS, Candidates, rank, tune_weight
from search.items import check_filters
from search.keyword import KeywordIndex
from search.metrics import ndcg_at_k
from search.rerank import Reranker, fit_reranker
from search.text import tokenize
from search.types import CatalogItem, SearchFilters, SearchResult, new_catalog_version
from search.vectors import VectorIndex

ENCODER_DIR = "encoder"
DEFAULT_FIELD_WEIGHTS = {"title": 2, "brand": 1, "category": 1, "description": 1, "attributes": 1}
FUSIONS = ("auto", "score", "rrf")
# Above this many deleted positions an unfiltered query masks them exactly instead of asking
# FAISS for extra neighbours to drop.
_MAX_DEAD_OVERFETCH = 1000
QUERY_CACHE_MB = 8.0  # a loaded (serving) model's cache of query vectors (embedding.encoder)


class HybridSearch(ModelBase):
    """Keyword + semantic product search with filters, facets, typo tolerance and live updates.

    Args:
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
        field_weights: ``{field: repeats}`` for title, brand, category, description, attributes
            (``None``: :data:`DEFAULT_FIELD_WEIGHTS`).
        fusion: ``"auto"`` (score fusion tuned on judgments when ``fit`` gets them, else RRF),
            ``"score"`` or ``"rrf"``.
        semantic_weight: the semantic share in score fusion; ``None`` tunes it (0.5 untuned).
        semantic_k: nearest neighbours added to the keyword matches.
        keyword_k: best keyword matches that are fused (all matches still count in total/facets).
        min_similarity: cosine a neighbour needs to become a candidate (keeps nonsense out).
        hnsw_min_items: catalog size from which unfiltered queries use HNSW (filtered stay exact).
        ef_search: HNSW search breadth.
        max_length: tokens the encoder keeps per text.
        out_of_stock_penalty: subtracted from an out-of-stock item's fused score (in [0, 1]).
        popularity_weight: weight of ``log1p(popularity)`` scaled to [0, 1] (catalog column).
        personalization_weight: the most a shopper's category/brand taste may add.
        spell_correction: correct words the catalog never uses.
        rerank: learn a LambdaRank re-ranker of the fused top ``rerank_k`` (:mod:`search.rerank`)
            when tuning gets at least ``rerank_min_queries`` judged queries; kept only when it
            beats the fused order on held-out judged queries.
        random_state: seeds the re-ranker's hold-out split and boosting.
    """

    family = "search"
    model_type = "hybrid"
    format_version = 1

    def __init__(
        self,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        field_weights: Mapping[str, int] | None = None,
        fusion: str = "auto",
        semantic_weight: float | None = None,
        semantic_k: int = 100,
        keyword_k: int = 1000,
        min_similarity: float = 0.25,
        hnsw_min_items: int = 50_000,
        ef_search: int = 128,
        max_length: int = 128,
        out_of_stock_penalty: float = 0.3,
        popularity_weight: float = 0.0,
        personalization_weight: float = 0.05,
        spell_correction: bool = True,
        rerank: bool = True,
        rerank_k: int = 100,
        rerank_min_queries: int = 500,
        random_state: int = 0,
    ) -> None:
        self.k1 = k1
        self.b = b
        self.field_weights = field_weights
        self.fusion = fusion
        self.semantic_weight = semantic_weight
        self.semantic_k = semantic_k
        self.keyword_k = keyword_k
        self.min_similarity = min_similarity
        self.hnsw_min_items = hnsw_min_items
        self.ef_search = ef_search
        self.max_length = max_length
        self.out_of_stock_penalty = out_of_stock_penalty
        self.popularity_weight = popularity_weight
        self.personalization_weight = personalization_weight
        self.spell_correction = spell_correction
        self.rerank = rerank
        self.rerank_k = rerank_k
        self.rerank_min_queries = rerank_min_queries
        self.random_state = random_state
        self.reranker_: Reranker | None = None
        self.state_: cat.CatalogState | None = None
        self.encoder_: QueryEncoder | None = None
        self.fusion_: str | None = None
        self.semantic_weight_: float | None = None
        self.coverage_weight_: float = 0.0
        self.tuning_: dict[str, Any] | None = None
        self.data_window_: dict[str, Any] | None = None
        self._catalog_version = 0
        self._write_lock = threading.Lock()

    def _config(self) -> cat.IndexConfig:
        weights = dict(DEFAULT_FIELD_WEIGHTS if self.field_weights is None else self.field_weights)
        return cat.IndexConfig(self.k1, self.b, weights, self.hnsw_min_items, self.ef_search)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        catalog: pd.DataFrame,
        judgments: Mapping[str, Mapping[str, float]] | None = None,
        *,
        vectors: np.ndarray | None = None,
        encoder_dir: str | Path | None = None,
    ) -> HybridSearch:
        """Index ``catalog`` on both sides and choose the fusion.

        Args:
            catalog: the normalised catalog frame (``item_id``, ``title``, ``category``, ``brand``,
                ``price``, ``in_stock``; ``description``, extra attribute columns and
                ``popularity`` are used when present).
            judgments: query -> {item_id: relevance}; tunes the fusion weight when given.
            vectors: precomputed catalog vectors of this encoder (benchmarks cache them).
            encoder_dir: an exported encoder folder (default: export, or reuse the cached export).

        Raises:
            DataValidationError: a required column is missing, no rows, or a repeated ``item_id``.
            InvalidInputError: an unknown ``fusion`` or a field weight that is not a whole number >= 0.
        """
        cat.validate_catalog(catalog)
        cat.check_params(self.fusion, FUSIONS, self._config())
        if encoder_dir is None:
            from embedding.export import exported_encoder  # training only: may import torch

            encoder_dir = exported_encoder()
        self.encoder_ = QueryEncoder(encoder_dir, max_length=self.max_length)
        self._set_state(cat.build_state(catalog, self.encoder_, self._config(), vectors))
        self.data_window_ = _data_window(catalog)
        return self._fit_fusion(judgments)  # the fusion of a fresh index (a variant's too)

    def _fit_fusion(self, judgments: Mapping[str, Mapping[str, float]] | None) -> HybridSearch:
        self.fusion_ = "rrf" if self.fusion == "rrf" else "hybrid"
        self.semantic_weight_ = 0.5 if self.semantic_weight is None else float(self.semantic_weight)
        self.coverage_weight_, self.reranker_ = 0.0, None
        self.tuning_ = {"tuned": False, "reason": "no judgments"}
        if judgments and self.fusion != "rrf":
            self.tune(judgments)
        elif self.fusion == "auto":
            self.fusion_ = "rrf"  # nothing to tune the weight on: the parameter-free fusion
        return self

    def tune(self, judgments: Mapping[str, Mapping[str, float]], *, k: int = 10) -> HybridSearch:
        """Pick the semantic and coverage weights with the best NDCG@k on ``judgments`` (grid)."""
        judged = {q: r for q, r in judgments.items() if q.strip() and any(v > 0 for v in r.values())}
        if not judged:
            return self
        candidates = {q: self.candidates(q) for q in judged}
        ids = self._fitted().items.item_ids
        (best, self.coverage_weight_), curve = tune_weight(
            candidates, judged, lambda rows: [ids[r] for r in rows], k=k
        )
        rrf = ndcg_at_k(
            {q: [ids[r] for r in rank(c, "rrf", 0.0, k)[0]] for q, c in candidates.items()}, judged, k
        )
        # RRF stays when tuned fusion cannot beat it on the same queries (few judgments overfit).
        self.fusion_ = "rrf" if self.fusion == "auto" and rrf >= max(curve.values()) else "hybrid"
        self.semantic_weight_ = best if self.semantic_weight is None else float(self.semantic_weight)
        self.tuning_ = {"tuned": True, "n_queries": len(judged), "rrf_ndcg": rrf, "ndcg_by_weights": curve}
        self.reranker_ = None  # kept only when trained and better on held-out judged queries
        if self.rerank and self.fusion_ == "hybrid" and len(judged) >= self.rerank_min_queries:
            weights = (self._weight(), self.coverage_weight_)
            self.reranker_, self.tuning_["rerank"] = fit_reranker(
                candidates, judged, self._fitted().items, weights, top_k=self.rerank_k, seed=self.random_state
            )
        return self

    # ------------------------------------------------------------------ query
    def search(
        self, query: str, *, k: int = 10, filters: SearchFilters | None = None, history: Sequence[str] = ()
    ) -> SearchResult:
        """The ``k`` best items for ``query`` within ``filters``, facets and the candidate count.

        ``history`` (item ids the shopper recently viewed or bought, optional) mildly boosts
        their categories and brands (:mod:`search.signals`); unknown ids are ignored.

        Raises:
            InvalidInputError: a blank/non-string query, ``k`` < 1, or invalid filters.
            NotFittedError: before ``fit``/``load``.
        """
        state = self._fitted()
        _check_text(query, "query")
        _check_k(k)
        filters = check_filters(filters)
        corrected = state.speller.correct(query) if self.spell_correction else None
        c = self._candidates(state, query, corrected, filters)
        extra = signals.bonus(
            state,
            c.rows,
            out_of_stock_penalty=self.out_of_stock_penalty,
            popularity_weight=self.popularity_weight,
            personalization_weight=self.personalization_weight,
            history=history,
        )
        rows, scores = rank(
            c, self._method(), self._weight(), k, extra, self.coverage_weight_, self._rescore(state)
        )
        matched = c.rows if c.matched is None else c.matched
        facets = state.items.full_facets(matched)
        return SearchResult(state.items.hits(rows, scores), facets, len(matched), corrected_query=corrected)

    def candidates(self, query: str, filters: SearchFilters | None = None) -> Candidates:
        """The (spell-corrected) query's candidates with both raw scores (evaluation and tuning)."""
        state = self._fitted()
        corrected = state.speller.correct(query) if self.spell_correction else None
        return self._candidates(state, query, corrected, check_filters(filters))

    def ranked_ids(self, c: Candidates, *, method: str, k: int = 10) -> list[str]:
        """Item ids of ``c`` ranked by ``method`` (:data:`search.fusion.METHODS`), no business signals."""
        if method not in METHODS:
            raise InvalidInputError(
                f"Unknown method {method!r}; expected one of {list(METHODS)}", field="method"
            )
        rescore = self._rescore(self._fitted()) if method == "hybrid" else None
        rows, _ = rank(c, method, self._weight(), k, coverage=self.coverage_weight_, rescore=rescore)
        ids = self._fitted().items.item_ids
        return [ids[r] for r in rows]

    def _rescore(self, state: cat.CatalogState):  # -> the re-ranker with the state's titles, or None
        reranker, items = self.reranker_, state.items
        return None if reranker is None else lambda c, fused: reranker.rescore(c, fused, items)

    def _method(self) -> str:
        return "rrf" if self.fusion_ == "rrf" else "hybrid"

    def _weight(self) -> float:
        return 0.5 if self.semantic_weight_ is None else self.semantic_weight_

    def _candidates(
        self, state: cat.CatalogState, query: str, corrected: str | None, filters: SearchFilters
    ) -> Candidates:
        """Keyword matches + nearest vectors within ``filters``, with both scores.

        The keyword side searches the typed and the corrected words (a word the catalog lacks
        matches nothing anyway, so this equals searching the correction); the vector is the
        corrected text's, so a corrected typo ranks exactly like the clean query.
        """
        encoder = self.encoder_
        assert encoder is not None
        tokens = tokenize(query) + (tokenize(corrected) if corrected else [])
        kw_rows, kw_scores = state.keyword.match(tokens)
        filtered = filters != SearchFilters()
        allowed = state.alive
        if filtered:
            allowed = allowed & state.items.keep_mask(np.arange(len(state.alive)), filters)
        keep = allowed[kw_rows]
        kw_rows, kw_scores = kw_rows[keep], kw_scores[keep]
        vec = encoder.encode_one(corrected or query)
        if filtered or state.n_dead > _MAX_DEAD_OVERFETCH:
            sem_rows, sims = state.vectors.top(vec, self.semantic_k, allowed)
        else:  # over-fetch by the dead count, so dropping them still leaves semantic_k (exactly)
            sem_rows, sims = state.vectors.top(vec, self.semantic_k + state.n_dead, None)
            live = allowed[sem_rows]
            sem_rows, sims = sem_rows[live][: self.semantic_k], sims[live][: self.semantic_k]
        sem_rows = sem_rows[sims >= self.min_similarity]
        matched = union_ids(kw_rows, sem_rows)  # what total and facets count
        if len(kw_rows) > self.keyword_k:  # only the best keyword matches can reach a page
            best = np.argpartition(-kw_scores, self.keyword_k - 1)[: self.keyword_k]
            kw_rows, kw_scores = kw_rows[best], kw_scores[best]
        rows = union_ids(kw_rows, sem_rows)
        bm25 = np.zeros(len(rows), dtype=np.float32)
        bm25[np.searchsorted(rows, kw_rows)] = kw_scores
        cosine = state.vectors.similarity(vec, rows)
        coverage = state.keyword.coverage(tokens, rows)
        return Candidates(rows, bm25, cosine, coverage, matched, tuple(tokens), corrected is not None)

    def suggest(self, prefix: str, *, k: int = 10) -> list[str]:
        """Completions from catalog title words/phrases, brands and category names (as the baseline)."""
        if not isinstance(prefix, str):
            raise InvalidInputError(f"prefix must be a string, got {type(prefix).__name__}", field="prefix")
        _check_k(k)
        return self._fitted().suggester.complete(prefix, k)

    def _fitted(self) -> cat.CatalogState:
        check_is_fitted(self, ("state_", "encoder_", "fusion_", "data_window_"))
        assert self.state_ is not None
        return self.state_

    # ------------------------------------------------------------------ live catalog
    def upsert_items(self, items: pd.DataFrame) -> int:
        """Add items or replace those with the same ``item_id``; searchable on the next query.

        Raises:
            DataValidationError: a required column is missing, no rows, or a repeated ``item_id``.
        """
        self._fitted()
        assert self.encoder_ is not None
        with self._write_lock:  # writers queue; readers keep the state they started with
            self._set_state(cat.upserted(self._fitted(), items, self.encoder_, self._config()))
        return len(items)

    def delete_items(self, item_ids: Sequence[str]) -> list[str]:
        """Remove items for good; returns the ids that were in the catalog (others are ignored)."""
        with self._write_lock:
            state, removed = cat.deleted(self._fitted(), item_ids)
            self._set_state(state)
        return removed

    @property
    def n_items(self) -> int:
        """Live catalog items (``search.interface.LiveCatalog``)."""
        return len(self._fitted().positions)

    def has_item(self, item_id: str) -> bool:
        """Whether ``item_id`` is a live catalog item."""
        return str(item_id) in self._fitted().positions

    def items(self, item_ids: Sequence[str]) -> list[CatalogItem]:
        """The live catalog items among ``item_ids``, in the order asked (unknown ids left out)."""
        state = self._fitted()
        return [state.items.describe(state.positions[i]) for i in item_ids if i in state.positions]

    def compact(self) -> HybridSearch:
        """Rebuild both indexes over the live items (drops deleted positions, refreshes statistics)."""
        with self._write_lock:
            self._set_state(cat.rebuilt(self._fitted(), self._config()))
        return self

    def _set_state(self, state: cat.CatalogState) -> None:
        """Serve ``state`` from the next query on; a new state is a new catalog version."""
        if state is not self.state_:
            self.state_, self._catalog_version = state, new_catalog_version()

    @property
    def catalog_version(self) -> int:
        """A new number at fit, load and every catalog change (``search.interface.Searcher``)."""
        return self._catalog_version

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Compact, then write ``meta.json`` and the pickle-free payloads."""
        state = self.compact()._fitted()
        assert self.encoder_ is not None
        extra = {
            "n_items": len(state.items),
            "fusion": self.fusion_,
            "semantic_weight": self.semantic_weight_,
            "coverage_weight": self.coverage_weight_,
            "tuning": self.tuning_,
            "vector_index": "hnsw" if state.vectors.approximate else "flat",
            "reranker": self.reranker_ is not None,
        }
        path = self._write_meta(directory, extra=extra)
        if self.reranker_ is not None:
            self.reranker_.save(path)
        state.keyword.save(path)
        state.vectors.save(path)
        cat.write_catalog(state, path)
        self.encoder_.copy_to(path / ENCODER_DIR)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> HybridSearch:
        """Load a model saved by :meth:`save`; checks family, type and version first.

        Raises:
            ArtifactError: not a search/hybrid v1 directory, or a payload is missing.
        """
        path = Path(directory)
        meta = cls._read_meta(path)
        for name in ("bm25s", "vectors.faiss", cat.CATALOG_FILE, ENCODER_DIR):
            if not (path / name).exists():
                raise ArtifactError(f"Missing payload {path / name} of a search/hybrid model")
        model = cls(**meta["params"])
        config = model._config()
        vectors = VectorIndex.load(path, ef_search=config.ef_search)
        model._set_state(cat.read_state(path, config, vectors, KeywordIndex.load(path)))
        # A loaded model serves: one thread per query, and recent queries' vectors cached.
        model.encoder_ = QueryEncoder(
            path / ENCODER_DIR, max_length=model.max_length, threads=1, cache_mb=QUERY_CACHE_MB
        )
        extra = meta["extra"]
        model.fusion_, model.semantic_weight_ = extra["fusion"], extra["semantic_weight"]
        model.coverage_weight_ = float(extra.get("coverage_weight", 0.0))
        model.tuning_, model.data_window_ = extra.get("tuning"), meta.get("data_window") or {}
        model.reranker_ = Reranker.load(path, model.rerank_k) if extra.get("reranker") else None
        return model
