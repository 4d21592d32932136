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
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from models.errors import DataValidationError
from models.evaluation import Evaluation, holdout_key
from search.bm25 import BM25Search
from search.hybrid import HybridSearch
from search.metrics import evaluate, judgments_by_query, query_ndcg
from training.jobs.base import TrainResult
from training.store import StoreData

PRIMARY_METRIC = "ndcg_at_10"
EVAL_K = 10
BASELINE_PREFIX = "baseline_random_match_"
BM25_PREFIX = "baseline_bm25_"
SPLIT_SEED = 0  # the evaluation queries depend on the data only, not on the training seed


def train(store: StoreData, *, seed: int, budget_s: float = 0.0) -> TrainResult:
    """Fit :class:`search.hybrid.HybridSearch` on ``store.catalog`` and evaluate it.

    Args:
        store: loaded store data; needs ``catalog``, uses ``search_judgments`` when present.
        seed: the model's ``random_state`` and the random baseline's seed (the query split is
            fixed by the data, so two seeds are compared on the same evaluation queries).
        budget_s: the settings search budget; the search family tunes its fusion on the tuning
            half whatever the budget (``HybridSearch.tune``), so it is not used yet.

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
    del budget_s
    model = HybridSearch(random_state=seed).fit(store.catalog)
    params: dict[str, Any] = {
        "n_items": len(store.catalog),
        "split": "judged queries in two halves (fixed seed), each evaluated with the fusion tuned on "
        "the other (cross-fitting: every judged query is evaluated once)",
        "eval_k": EVAL_K,
    }
    judged = store.search_judgments
    if judged is None or judged.empty:
        params["evaluation"] = "skipped: no search_judgments in the store, so no metrics to compare"
        params.update(_fusion_params(model))
        return TrainResult(model=model, metrics={}, primary_metric=PRIMARY_METRIC, params=params)
    judgments, counts = _usable_judgments(judged, set(store.catalog["item_id"].astype(str)))
    params.update(counts)
    first, second = _split(judgments)
    params.update(n_tuning_queries=len(judgments), n_evaluation_queries=len(judgments))
    bm25 = BM25Search(random_state=seed).fit(store.catalog)
    rankings: dict[str, dict[str, list[str]]] = {}
    for tune, held in ((first, second), (second, first)):  # two-fold cross-fitting
        model.tune(tune, k=EVAL_K)
        for prefix, ranked in _rankings(model, bm25, held, seed).items():
            rankings.setdefault(prefix, {}).update(ranked)
    metrics = {}
    for prefix, ranked in rankings.items():
        metrics.update(evaluate(ranked, judgments, EVAL_K, prefix=prefix))
    model.tune(judgments, k=EVAL_K)  # the returned model uses every judgment
    params.update(_fusion_params(model))
    return TrainResult(
        model=model,
        metrics=metrics,
        primary_metric=PRIMARY_METRIC,
        params=params,
        evaluation=per_query(rankings[""], rankings[BM25_PREFIX], judgments),
        baselines=("bm25",),
    )


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
    return Evaluation(queries, rows, case_name="queries", holdout_key=holdout_key(queries, truth=truth))


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
