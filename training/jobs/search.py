"""Training job of the search family: index the catalog with BM25 and grade it on judgments.

Search has **no time split**. The model *is* an index of the current catalog, and nothing is
learned from the judgments (BM25 has no trained weights), so the judged queries are already
held out: the job fits once on the whole catalog, evaluates that model and returns it. There is
no refit.

Evaluation (when ``search_judgments`` exists) ranks the whole catalog for every judged query and
reports NDCG@10 (exponential gains, see :mod:`search.metrics`), MRR@10 and recall@10, plus the
same three for a trivial baseline, ``baseline_random_match_*``: the items sharing any token with
the query in a seeded random order. It has exactly BM25's candidate set, so the gap between the
two is what BM25's ranking adds over keyword matching alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.errors import DataValidationError
from search.bm25 import BM25Search
from search.metrics import evaluate, judgments_by_query
from training.jobs.base import TrainResult
from training.store import StoreData

PRIMARY_METRIC = "ndcg_at_10"
EVAL_K = 10
BASELINE_PREFIX = "baseline_random_match_"


def train(store: StoreData, *, seed: int) -> TrainResult:
    """Fit :class:`search.bm25.BM25Search` on ``store.catalog`` and evaluate it.

    Args:
        store: loaded store data; needs ``catalog``, uses ``search_judgments`` when present.
        seed: the model's ``random_state`` and the random baseline's seed.

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
    model = BM25Search(random_state=seed).fit(store.catalog)
    params: dict[str, Any] = {
        "n_items": len(store.catalog),
        "split": "none: the index is the catalog; judgments are never used for fitting",
        "eval_k": EVAL_K,
    }
    judged = store.search_judgments
    if judged is None or judged.empty:
        params["evaluation"] = "skipped: no search_judgments in the store, so no metrics to compare"
        return TrainResult(model=model, metrics={}, primary_metric=PRIMARY_METRIC, params=params)
    judgments, counts = _usable_judgments(judged, set(store.catalog["item_id"].astype(str)))
    params.update(counts)
    rng = np.random.default_rng(seed)
    ranked = {q: [h.item_id for h in model.search(q, k=EVAL_K).hits] for q in judgments}
    shuffled = {q: _random_pick(model.match_ids(q), rng) for q in judgments}
    metrics = {
        **evaluate(ranked, judgments, EVAL_K),
        **evaluate(shuffled, judgments, EVAL_K, prefix=BASELINE_PREFIX),
    }
    return TrainResult(model=model, metrics=metrics, primary_metric=PRIMARY_METRIC, params=params)


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
