"""LightGBM LambdaRank re-ranker over merged candidates, kept only when it beats every single source.

Training rows come from candidate models fit on events *before* a cutoff and labels from the
events *after* it, so the re-ranker never sees the interactions it is asked to predict. A seeded
quarter of the label-window users is held out: the re-ranker is used only if its NDCG@10 there
beats the best single source's ordering of the same candidates (both are reported).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recsys.candidates import FEATURE_NAMES, CandidateSet
from recsys.metrics import ndcg_at_k
from recsys.sources import SOURCE_NAMES

K = 10
VALIDATION_SHARE = 0.25


def source_order(cands: CandidateSet, rows: slice, source: int) -> np.ndarray:
    """Candidate rows of one user ordered by one source's rank (popularity rank breaks ties)."""
    return source_order_of(cands.features[rows], source)


def source_order_of(feats: np.ndarray, source: int) -> np.ndarray:
    """Feature rows ordered by one source's rank (popularity rank breaks ties, then row order)."""
    pop_rank = feats[:, FEATURE_NAMES.index("pop_candidate_rank")]
    return np.lexsort((pop_rank, feats[:, 2 * source + 1]))


def _ndcg(cands: CandidateSet, users: Sequence[int], truth: Sequence[set[int]], order_of) -> float:
    values = []
    for u in users:
        rows = cands.user(u)
        ranked = cands.items[rows][order_of(u, rows)][:K]
        values.append(ndcg_at_k(ranked.tolist(), truth[u], K))  # type: ignore[arg-type]  # ids are ints here
    return float(np.mean(values)) if values else 0.0


def _fit(cands: CandidateSet, users: Sequence[int], truth: Sequence[set[int]], params: dict, seed: int):
    import lightgbm as lgb

    rows, labels, groups = [], [], []
    for u in users:
        sl = cands.user(u)
        y = np.isin(cands.items[sl], list(truth[u])).astype(np.float32)
        if y.any() and not y.all():
            rows.append(cands.features[sl])
            labels.append(y)
            groups.append(len(y))
    if not groups:
        return None
    data = lgb.Dataset(
        np.concatenate(rows),
        np.concatenate(labels),
        group=groups,
        feature_name=list(FEATURE_NAMES),
        free_raw_data=True,
    )
    config = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [K],
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambdarank_truncation_level": 20,
        "num_threads": 1,
        "verbose": -1,
        "seed": seed,
        "deterministic": True,
        **params.get("lgb", {}),
    }
    return lgb.train(config, data, num_boost_round=int(params.get("rounds", 150)))


def train_reranker(
    cands: CandidateSet, truth: Sequence[set[int]], *, seed: int, params: dict | None = None
) -> tuple[object | None, dict[str, float]]:
    """Fit LambdaRank on the label window; keep it only if it beats the best single source.

    Args:
        cands: candidates of the label-window users (from models fit before the cutoff).
        truth: per user of ``cands``, the catalog positions they interacted with after the cutoff.
        seed: seeds the validation split and LightGBM.
        params: ``{"rounds": int, "lgb": {...}}`` overrides.

    Returns:
        ``(booster or None, report)``: report has ``candidate_recall``, ``ndcg_at_10_<source>``
        per source, ``ndcg_at_10_best_source``, ``ndcg_at_10_reranked`` and ``reranker_used``.
    """
    params = params or {}
    users = [u for u in range(len(truth)) if truth[u]]
    report: dict[str, float] = {"reranker_used": 0.0, "label_users": float(len(users))}
    if len(users) < 8:
        return None, report
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(users)
    n_val = max(2, int(len(users) * VALIDATION_SHARE))
    val, fit_users = sorted(shuffled[:n_val].tolist()), sorted(shuffled[n_val:].tolist())
    found = [len(truth[u] & set(cands.items[cands.user(u)].tolist())) / len(truth[u]) for u in val]
    report["candidate_recall"] = float(np.mean(found))
    best = 0.0
    for j, name in enumerate(SOURCE_NAMES):
        value = _ndcg(cands, val, truth, lambda u, rows, j=j: source_order(cands, rows, j))
        report[f"ndcg_at_{K}_{name}"] = value
        best = max(best, value)
    report[f"ndcg_at_{K}_best_source"] = best
    booster = _fit(cands, fit_users, truth, params, seed)
    if booster is None:
        return None, report
    ranked = _ndcg(
        cands, val, truth, lambda u, rows: np.argsort(-booster.predict(cands.features[rows]), kind="stable")
    )
    report[f"ndcg_at_{K}_reranked"] = ranked
    if ranked <= best:
        return None, report
    report["reranker_used"] = 1.0
    # Validated: refit on every label-window user (same settings) so no labelled data is wasted.
    return _fit(cands, users, truth, params, seed) or booster, report


def load_booster(text: str):
    """A LightGBM booster from its text dump."""
    import lightgbm as lgb

    return lgb.Booster(model_str=text)
