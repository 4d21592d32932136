"""LightGBM LambdaRank re-ranker over merged candidates, kept only when it beats the ordering beyond noise.

Training rows come from candidate models fit on events *before* a cutoff and labels from the
events *after* it, so the re-ranker never sees the interactions it is asked to predict. A seeded
quarter of the label-window users is held out to decide two things, each only on evidence:

- the **order source** (which single source orders the candidates when no re-ranker is used):
  ALS unless another source beats it beyond noise (paired bootstrap, ``models.evaluation``);
- the **re-ranker**: used only if it beats that order source beyond noise.

On fewer than ``MIN_CASES`` held-out users nothing is decided: ALS orders, no re-ranker. (On a
small store a choice made on a dozen users was noise; it cost up to two thirds of NDCG@10.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.evaluation import MIN_CASES, Evaluation
from recsys.candidates import FEATURE_NAMES, CandidateSet
from recsys.metrics import ndcg_at_k
from recsys.sources import CANDIDATE_SOURCES

K = 10
VALIDATION_SHARE = 0.25
DEFAULT_SOURCE = "als"


def source_order(cands: CandidateSet, rows: slice, source: int) -> np.ndarray:
    """Candidate rows of one user ordered by one source's rank (popularity rank breaks ties)."""
    return source_order_of(cands.features[rows], source)


def source_order_of(feats: np.ndarray, source: int) -> np.ndarray:
    """Feature rows ordered by one source's rank (popularity rank breaks ties, then row order)."""
    pop_rank = feats[:, FEATURE_NAMES.index("pop_candidate_rank")]
    return np.lexsort((pop_rank, feats[:, 2 * source + 1]))


def _ndcg(cands: CandidateSet, users: Sequence[int], truth: Sequence[set[int]], order_of) -> np.ndarray:
    """Per user, the NDCG@K of the candidates in ``order_of``'s order."""
    values = []
    for u in users:
        rows = cands.user(u)
        ranked = cands.items[rows][order_of(u, rows)][:K]
        values.append(ndcg_at_k(ranked.tolist(), truth[u], K))  # type: ignore[arg-type]  # ids are ints here
    return np.asarray(values, dtype=float)


def order_source(report: dict[str, float]) -> str:
    """The source ``train_reranker`` chose to order candidates (``report``'s ``order_source_<name>``)."""
    return next((name for name in CANDIDATE_SOURCES if report.get(f"order_source_{name}")), DEFAULT_SOURCE)


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
    """Fit LambdaRank on the label window; choose the order source and keep the booster on evidence.

    Args:
        cands: candidates of the label-window users (from models fit before the cutoff).
        truth: per user of ``cands``, the catalog positions they interacted with after the cutoff.
        seed: seeds the validation split and LightGBM.
        params: ``{"rounds": int, "lgb": {...}}`` overrides.

    Returns:
        ``(booster or None, report)``: report has ``candidate_recall``, ``ndcg_at_10_<source>``
        per source, ``order_source_<name>`` (1.0 for the chosen order source, see
        ``order_source``), ``ndcg_at_10_best_source`` (the chosen source's), ``ndcg_at_10_reranked``,
        ``validation_users`` and ``reranker_used``.
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
    rows = {
        name: _ndcg(cands, val, truth, lambda u, rows, j=j: source_order(cands, rows, j))
        for j, name in enumerate(CANDIDATE_SOURCES)
    }
    report |= {f"ndcg_at_{K}_{name}": float(values.mean()) for name, values in rows.items()}
    report["validation_users"] = float(len(val))
    enough = len(val) >= MIN_CASES
    scores = Evaluation(np.asarray(val), rows, case_name="label-window users")
    chosen = DEFAULT_SOURCE
    if enough:  # another source orders only where it beats ALS beyond noise
        better = [
            n
            for n in CANDIDATE_SOURCES
            if n != DEFAULT_SOURCE and scores.difference(n, DEFAULT_SOURCE).better
        ]
        chosen = max(better, key=lambda n: report[f"ndcg_at_{K}_{n}"], default=DEFAULT_SOURCE)
    report[f"order_source_{chosen}"] = 1.0
    report[f"ndcg_at_{K}_best_source"] = report[f"ndcg_at_{K}_{chosen}"]
    booster = _fit(cands, fit_users, truth, params, seed)
    if booster is None:
        return None, report
    ranked = _ndcg(
        cands, val, truth, lambda u, rows: np.argsort(-booster.predict(cands.features[rows]), kind="stable")
    )
    report[f"ndcg_at_{K}_reranked"] = float(ranked.mean())
    if not enough or not scores.with_row("reranked", ranked).difference("reranked", chosen).better:
        return None, report
    report["reranker_used"] = 1.0
    # Validated: refit on every label-window user (same settings) so no labelled data is wasted.
    return _fit(cands, users, truth, params, seed) or booster, report


def load_booster(text: str):
    """A LightGBM booster from its text dump."""
    import lightgbm as lgb

    return lgb.Booster(model_str=text)
