"""Training job of the search family: the hybrid index (BM25 + MiniLM/FAISS), graded on judgments.

The model *is* an index of the current catalog; the only thing learned from judgments is the
fusion weight (and the re-ranker). So, when the store has ``search_judgments``, the judged queries
are split in two halves by a fixed seed and cross-fitted: each half is scored with the fusion
tuned on the other, so every judged query is evaluated once and none by a model tuned on it.
The weight is then re-tuned on all judgments for the model that is returned (no re-indexing).
The per-query NDCG@10 of the model and of BM25 is what the promotion gate compares.

Metrics (NDCG@10 with exponential gains, MRR@10, recall@10; see :mod:`search.metrics`), all over
the cross-fitted queries, each ranking the whole catalog:

- unprefixed: the hybrid model exactly as served (``search``: fusion + business signals);
- ``bm25_``, ``semantic_``, ``rrf_``, ``hybrid_``: the hybrid's keyword side, vector side, RRF and
  tuned score fusion alone (no business signals such as the out-of-stock penalty);
- ``baseline_bm25_``: the BM25 baseline model (:class:`search.bm25.BM25Search`), the bar to beat;
- ``baseline_random_match_``: BM25's candidate set in a seeded random order.

The fusion choice (score fusion or RRF) and its weights go into ``params`` (logged to MLflow).

With a time budget, settings (BM25 ``k1``/``b``, field weights, re-ranker on or off:
:mod:`search.space`) are searched too (:mod:`training.jobs.search_settings`): in each fold on
that fold's tuning half only, with a quarter of the budget, so no evaluated query ever took part
in choosing the settings it is scored with; then, with what is left of the budget, on all
judgments for the returned model, whose search report is the run's ``tuning``. Without a budget,
or with too few judged queries, the model's defaults are used, exactly as before searches existed.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embedding.encoder import QueryEncoder
from embedding.vector_store import default_store, encode_cached
from models.errors import DataValidationError
from models.evaluation import Evaluation, holdout_key
from search.bm25 import BM25Search
from search.catalog import embed_texts, validate_catalog
from search.hybrid import HybridSearch
from search.keyword import field_texts
from search.metrics import evaluate, judgments_by_query, query_ndcg
from search.space import searched_fields
from training import progress
from training.jobs.base import Champion, Rescore, TrainResult, rescored
from training.jobs.search_settings import MAX_TRIALS, SettingsSearch
from training.store import StoreData

PRIMARY_METRIC = "ndcg_at_10"
EVAL_K = 10
BASELINE_PREFIX = "baseline_random_match_"
BM25_PREFIX = "baseline_bm25_"
SPLIT_SEED = 0  # the evaluation queries depend on the data only, not on the training seed
FOLD_SHARE = 0.25  # of the budget for each fold's search; the search for the returned model gets the rest


def train(
    store: StoreData,
    *,
    seed: int,
    budget_s: float = 0.0,
    max_trials: int = MAX_TRIALS,
    champion: Champion | None = None,
) -> TrainResult:
    """Fit :class:`search.hybrid.HybridSearch` on ``store.catalog`` and evaluate it.

    Args:
        store: loaded store data; needs ``catalog``, uses ``search_judgments`` when present.
        seed: the model's ``random_state`` and the random baseline's seed (the query split is
            fixed by the data, so two seeds are compared on the same evaluation queries).
        budget_s: seconds of settings search (see the module notes; 0: the defaults only). The
            fusion is tuned on the tuning half whatever the budget (``HybridSearch.tune``).
        max_trials: most trials per settings search (the defaults are the first).
        champion: the served champion, re-scored through ``search`` on the judged queries it
            was not evaluated (and so not tuned) on.

    Returns:
        The fitted model and its metrics. Without judgments the metrics are empty (the runner
        then has nothing to compare and promotes only a first version); ``params`` says why.

    Raises:
        DataValidationError: the store has no catalog, or the catalog breaks the contract.
    """
    if store.catalog is None:
        raise DataValidationError(
            "The search family needs catalog data (catalog file); this store has none", file="catalog"
        )
    validate_catalog(store.catalog)  # before the encoding, which takes minutes on a large catalog
    model = HybridSearch(random_state=seed)
    progress.stage("encoding the catalog")
    vectors, encoder_dir = embed_catalog(store.catalog, max_length=model.max_length)
    model.fit(store.catalog, vectors=vectors, encoder_dir=encoder_dir)
    params: dict[str, Any] = {
        "n_items": len(store.catalog),
        "split": "judged queries in two halves (fixed seed), each evaluated with the fusion tuned on "
        "the other (cross-fitting: every judged query is evaluated once)",
        "eval_k": EVAL_K,
    }
    judged = store.search_judgments
    params["settings_search"] = "off (budget 0): the defaults"
    if judged is None or judged.empty:
        params["evaluation"] = "skipped: no search_judgments in the store, so no metrics to compare"
        if budget_s > 0:
            params["settings_search"] = "skipped: no search_judgments to choose settings on"
        params.update(_fusion_params(model))
        return TrainResult(model=model, metrics={}, primary_metric=PRIMARY_METRIC, params=params)
    judgments, counts = _usable_judgments(judged, set(store.catalog["item_id"].astype(str)))
    params.update(counts)
    params.update(n_tuning_queries=len(judgments), n_evaluation_queries=len(judgments))
    search = None
    if budget_s > 0:
        search = SettingsSearch(model, searched_fields(store.catalog), seed=seed, max_trials=max_trials)
    bm25 = BM25Search(random_state=seed).fit(store.catalog)
    searching = " with settings search" if budget_s > 0 else ""
    progress.stage(f"cross-fitted evaluation{searching}", estimate_s=budget_s or None)
    rankings = _cross_fitted(model, bm25, judgments, seed, search, budget_s * FOLD_SHARE)
    metrics = {}
    for prefix, ranked in rankings.items():
        metrics.update(evaluate(ranked, judgments, EVAL_K, prefix=prefix))
    if search is not None:
        # the rest of the budget: a batch of trials that overran a fold's share is not spent twice
        model = search.choose(judgments, budget_s - search.seconds, name="final")
        params.update(search.params(), settings_search=search.notes["final"])
    model.tune(judgments, k=EVAL_K)  # the returned model uses every judgment
    params.update(_fusion_params(model))
    evaluation = per_query(rankings[""], rankings[BM25_PREFIX], judgments)
    return TrainResult(
        model=model,
        metrics=metrics,
        primary_metric=PRIMARY_METRIC,
        params=params,
        evaluation=evaluation,
        baselines=("bm25",),
        tuning=None if search is None else search.reports.get("final"),
        rescore=rescore_champion(champion, evaluation, judgments) if champion is not None else None,
    )


def rescore_champion(champion: Champion, evaluation: Evaluation, judgments: dict) -> Rescore:
    """The champion's per-query NDCG@10 on the judged queries new since it was evaluated."""

    def score(subset: Evaluation) -> np.ndarray:
        return np.asarray(
            [
                query_ndcg([h.item_id for h in champion.model.search(q, k=EVAL_K).hits], judgments[q], EVAL_K)
                for q in subset.case_ids.tolist()
            ]
        )

    return rescored(champion, evaluation, champion.unseen(evaluation.case_ids), score)


def embed_catalog(catalog: pd.DataFrame, *, max_length: int) -> tuple[np.ndarray, Path]:
    """The catalog vectors ``HybridSearch.fit`` would compute, and the exported encoder's folder.

    Kept per process for the last two catalogs (keyed by a hash of the encoder and the texts): a
    notebook or a benchmark that trains twice on one store encodes it once (minutes on 54k items).
    """
    from embedding.export import exported_encoder  # training only: may import torch

    encoder_dir = exported_encoder()
    texts = embed_texts(field_texts(catalog))
    key = hashlib.sha256("\x1f".join([str(encoder_dir), str(max_length), *texts]).encode()).hexdigest()
    if key not in _VECTORS:
        while len(_VECTORS) >= 2:
            _VECTORS.pop(next(iter(_VECTORS)))
        # Texts an earlier run encoded come from the on-disk store (embedding.vector_store).
        encoder = QueryEncoder(encoder_dir, max_length=max_length)
        _VECTORS[key] = encode_cached(encoder, texts, default_store())
    return _VECTORS[key], encoder_dir


_VECTORS: dict[str, np.ndarray] = {}


def _cross_fitted(
    model: HybridSearch,
    bm25: BM25Search,
    judgments: dict[str, dict[str, float]],
    seed: int,
    search: SettingsSearch | None,
    fold_budget_s: float,
) -> dict[str, dict[str, list[str]]]:
    """Every metric row's rankings of every judged query, each half by the model tuned on the other.

    With a ``search``, each fold's model has the settings chosen on that fold's tuning half.
    """
    first, second = _split(judgments)
    rankings: dict[str, dict[str, list[str]]] = {}
    for fold, (tune, held) in enumerate(((first, second), (second, first)), start=1):
        fold_model = model if search is None else search.choose(tune, fold_budget_s, name=f"fold{fold}")
        fold_model.tune(tune, k=EVAL_K)
        for prefix, ranked in _rankings(fold_model, bm25, held, seed).items():
            rankings.setdefault(prefix, {}).update(ranked)
    return rankings


def per_query(served: dict, bm25: dict, held: dict) -> Evaluation:
    """NDCG@10 per evaluated query (those with a positive judgment) of the model and of BM25."""
    rows: dict[str, list[float]] = {"model": [], "bm25": []}
    queries = []
    for q, rels in sorted(held.items()):
        value = query_ndcg(served.get(q, ()), rels, EVAL_K)
        if math.isnan(value):
            continue
        queries.append(q)
        rows["model"].append(value)
        rows["bm25"].append(query_ndcg(bm25.get(q, ()), rels, EVAL_K))
    truth = repr([(q, sorted(held[q].items())) for q in queries])
    arrays = {name: np.asarray(values) for name, values in rows.items()}
    return Evaluation(
        np.asarray(queries), arrays, case_name="queries", holdout_key=holdout_key(queries, truth=truth)
    )


def _split(judgments: dict[str, dict[str, float]]) -> tuple[dict, dict]:
    """Tuning and evaluation halves of the judged queries (sorted, then a fixed-seed permutation)."""
    queries = sorted(judgments)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(queries))
    half = len(queries) // 2
    tune = {queries[i]: judgments[queries[i]] for i in order[:half]}
    held = {queries[i]: judgments[queries[i]] for i in order[half:]}
    return tune, held


def _rankings(model: HybridSearch, bm25: BM25Search, held: dict, seed: int) -> dict[str, dict]:
    """The rankings behind every metric row of the module notes, for the ``held`` queries."""
    sides = ("bm25_", "semantic_", "rrf_", "hybrid_")
    rankings: dict[str, dict[str, list[str]]] = {name: {} for name in ("", *sides)}
    for q in held:
        rankings[""][q] = [h.item_id for h in model.search(q, k=EVAL_K).hits]
        cands = model.candidates(q)
        for prefix in sides:
            rankings[prefix][q] = model.ranked_ids(cands, method=prefix[:-1], k=EVAL_K)
    rng = np.random.default_rng(seed)
    rankings[BM25_PREFIX] = {q: [h.item_id for h in bm25.search(q, k=EVAL_K).hits] for q in held}
    rankings[BASELINE_PREFIX] = {q: _random_pick(bm25.match_ids(q), rng) for q in held}
    return rankings


def _fusion_params(model: HybridSearch) -> dict[str, Any]:
    tuning = model.tuning_ or {}
    return {
        "fusion": model.fusion_,
        "semantic_weight": float(model.semantic_weight_ or 0.0),
        "coverage_weight": float(model.coverage_weight_),
        "fusion_tuned": tuning.get("tuned", False),
        "fusion_tuning_queries": tuning.get("n_queries", 0),
    }


def _usable_judgments(
    frame: pd.DataFrame, catalog_ids: set[str]
) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    """Judgments on catalog items for non-blank queries, plus counts of what was dropped.

    A judged item that is not in the catalog cannot be retrieved by any model, so counting it
    would only lower every model's score alike; it is dropped and counted instead.
    """
    ids = frame["item_id"].astype(str)
    queries = frame["query"].astype(str)
    known = ids.isin(catalog_ids)
    usable = known & queries.str.strip().ne("")
    judgments = judgments_by_query(frame.loc[usable].assign(item_id=ids[usable], query=queries[usable]))
    counts = {
        "n_judgments": int(len(frame)),
        "n_judgments_unknown_item": int((~known).sum()),
        "n_judgments_blank_query": int((known & ~usable).sum()),
        "n_judged_queries": len(judgments),
        "n_evaluated_queries": sum(any(r > 0 for r in rels.values()) for rels in judgments.values()),
    }
    return judgments, counts


def _random_pick(item_ids: list[str], rng: np.random.Generator) -> list[str]:
    """Up to ``EVAL_K`` of ``item_ids`` in random order (the unranked-match baseline)."""
    if not item_ids:
        return []
    picked = rng.choice(len(item_ids), size=min(EVAL_K, len(item_ids)), replace=False)
    return [item_ids[i] for i in picked]
