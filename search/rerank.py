"""Learned re-ranking of the fused top candidates: a small LightGBM LambdaRank over match features.

Score fusion (:mod:`search.fusion`) orders every candidate; the best ``rerank_k`` of them are then
re-ordered by a LambdaRank model over a handful of per-(query, item) features that the linear
fusion cannot express: the fused score itself, both raw scores and their ranks, word coverage in
both directions (query words the title holds, title words the query holds), whether the query's
last word (usually the product noun: "deck *stain*") is in the title, adjacent query word pairs
found adjacent in the title, and number/size tokens ("3/4", "2x4", "60") matched exactly.

The features are computed by :func:`features` from the candidates and the item titles only, the
same code at tuning and at serving time; titles are tokenised once per item
(:meth:`search.items.ItemTable.title_tokens`), not once per query. The booster is saved as
LightGBM text (pickle-free).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metrics import ranking
from models.errors import ArtifactError
from search.fusion import Candidates, fused_scores
from search.items import ItemTable

RERANK_FILE = "rerank.txt"
VALID_SHARE = 0.2

FEATURES = (
    "fused",
    "fused_gap",
    "bm25_share",
    "cosine",
    "cosine_gap",
    "cosine_z",
    "bm25_rank",
    "cosine_rank",
    "coverage",
    "title_coverage",
    "last_word",
    "first_word",
    "bigrams",
    "numbers",
    "query_words",
    "title_words",
    "corrected",
)
PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "lambdarank_truncation_level": 20,
    "num_threads": 1,
    "deterministic": True,
    "verbose": -1,
}


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based rank of each value, highest first (ties by position)."""
    out = np.empty(len(values))
    out[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
    return out


def _is_number(token: str) -> bool:
    return any(ch.isdigit() for ch in token)


def features(
    c: Candidates,
    fused: np.ndarray,
    top: np.ndarray,
    query_tokens: Sequence[str],
    title_tokens: Sequence[Sequence[str]],
    *,
    corrected: bool,
) -> np.ndarray:
    """One feature row (:data:`FEATURES`) per candidate index in ``top``.

    Args:
        c: all the query's candidates (ranks and shares are taken over all of them).
        fused: the fusion score of every candidate (aligned with ``c.rows``).
        top: indices into ``c.rows`` of the candidates to describe.
        query_tokens: the query's tokens (:func:`search.text.tokenize`, typed + corrected words).
        title_tokens: the tokenised title of each row in ``top`` (aligned with ``top``).
        corrected: whether a spelling correction was applied.
    """
    q = list(dict.fromkeys(query_tokens))
    q_set = set(q)
    q_pairs = set(zip(q, q[1:], strict=False))
    q_numbers = {t for t in q if _is_number(t)}
    bm25 = c.bm25.astype(np.float64)
    cosine = c.cosine.astype(np.float64)
    best_bm25 = float(bm25.max()) if len(bm25) else 0.0
    spread = float(cosine.std()) if len(cosine) > 1 else 0.0
    rows = np.zeros((len(top), len(FEATURES)), dtype=np.float64)
    rows[:, 0] = fused[top]
    rows[:, 1] = fused[top] - (float(fused.max()) if len(fused) else 0.0)
    rows[:, 2] = bm25[top] / best_bm25 if best_bm25 > 0 else 0.0
    rows[:, 3] = cosine[top]
    rows[:, 4] = cosine[top] - (float(cosine.max()) if len(cosine) else 0.0)
    rows[:, 5] = (cosine[top] - cosine.mean()) / spread if spread > 0 else 0.0
    rows[:, 6] = np.log1p(np.where(bm25[top] > 0, _ranks(bm25)[top], len(bm25) + 1))
    rows[:, 7] = np.log1p(_ranks(cosine)[top])
    rows[:, 8] = c.coverage[top]
    first, last = (q[0], q[-1]) if q else (None, None)
    for i, t in enumerate(title_tokens):
        t_set = set(t)
        rows[i, 9] = len(t_set & q_set) / len(t_set) if t_set else 0.0
        rows[i, 10] = float(last in t_set)
        rows[i, 11] = float(first in t_set)
        if q_pairs:  # the distinct adjacent title pairs that are query pairs
            rows[i, 12] = len({p for p in zip(t, t[1:], strict=False) if p in q_pairs}) / len(q_pairs)
        rows[i, 13] = len(q_numbers & t_set) / len(q_numbers) if q_numbers else -1.0
        rows[i, 15] = len(t)
    rows[:, 14] = len(q)
    rows[:, 16] = float(corrected)
    return rows


def _ndcg10(scores: np.ndarray, labels: np.ndarray) -> float:
    """NDCG@10 of ordering ``labels`` by ``scores`` (exponential gains, ideal within the window;
    0 for a window without a relevant candidate)."""
    gains = ranking.exponential_gains(labels)
    score = ranking.ndcg_at_k(gains[np.lexsort((np.arange(len(scores)), -scores))], gains, 10)
    return 0.0 if math.isnan(score) else score


def top_window(fused: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """Indices of the ``size`` best candidates by fused score (ties: lower position first)."""
    return np.lexsort((rows, -fused))[:size]


class Reranker:
    """Re-orders the ``top_k`` best fused candidates with a LambdaRank booster.

    Args:
        booster: a trained ``lightgbm.Booster`` over :data:`FEATURES`.
        top_k: how many of the best fused candidates it re-orders.
    """

    def __init__(self, booster: Any, top_k: int) -> None:
        self.booster = booster
        self.top_k = top_k

    def rescore(self, c: Candidates, fused: np.ndarray, items: ItemTable) -> np.ndarray:
        """New scores, one per candidate: the window in [0, 1] by the booster, the rest below 0."""
        if not len(fused):
            return fused
        top = top_window(fused, c.rows, self.top_k)
        x = features(c, fused, top, c.tokens, items.title_tokens(c.rows[top]), corrected=c.corrected)
        # LightGBM's own predictor, not trees.batch' compiled one: LLVM adds ~130 MB of RSS and
        # the search process has a 700 MB budget (docs/benchmarks/search.md).
        pred = self.booster.predict(x, num_threads=1)
        best = float(fused.max())
        out = (fused / best if best > 0 else fused) - 1.0 - 1e-6  # below every re-ranked item
        lo, hi = float(pred.min()), float(pred.max())
        out[top] = (pred - lo) / (hi - lo) if hi > lo else 1.0
        return out

    def save(self, path: Path) -> None:
        """Write the booster as LightGBM text (pickle-free) into the model folder ``path``."""
        (path / RERANK_FILE).write_text(str(self.booster.model_to_string()), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, top_k: int) -> Reranker:
        """Read :meth:`save`'s file; ``ArtifactError`` when it is missing."""
        import lightgbm as lgb  # lazily: only a model with a re-ranker needs it

        if not (path / RERANK_FILE).exists():
            raise ArtifactError(f"Missing payload {path / RERANK_FILE} of a search/hybrid model")
        return cls(lgb.Booster(model_str=(path / RERANK_FILE).read_text(encoding="utf-8")), top_k)


def fit_reranker(
    candidates: Mapping[str, Candidates],
    judgments: Mapping[str, Mapping[str, float]],
    items: ItemTable,
    weights: tuple[float, float],
    *,
    top_k: int,
    seed: int = 0,
    max_rounds: int = 1000,
) -> tuple[Reranker | None, dict[str, Any]]:
    """Train on the judged queries' candidates, fused with ``weights`` (semantic, coverage).

    A seeded :data:`VALID_SHARE` of the queries is held out: it stops the boosting early and
    decides whether the re-ranker is kept at all (only when it beats the plain fused order
    there). Returns the re-ranker (or ``None``) and a report for ``meta.json``.
    """
    import lightgbm as lgb

    groups = []
    for query, c in candidates.items():
        fused, judged = fused_scores(c, "hybrid", *weights), judgments[query]
        top = top_window(fused, c.rows, top_k)
        labels = np.array([max(float(judged.get(items.item_ids[r], 0.0)), 0.0) for r in c.rows[top]])
        if len(top) > 1 and labels.max() > 0:
            titles = items.title_tokens(c.rows[top])
            groups.append((features(c, fused, top, c.tokens, titles, corrected=c.corrected), labels))
    order = np.random.default_rng(seed).permutation(len(groups))
    n_valid = int(len(groups) * VALID_SHARE)
    if n_valid < 10:
        return None, {"trained": False, "reason": f"{len(groups)} judged queries with candidates"}
    valid, train = [groups[i] for i in order[:n_valid]], [groups[i] for i in order[n_valid:]]

    def dataset(part: list[tuple[np.ndarray, np.ndarray]], **kw: Any) -> Any:
        # LambdaRank wants integer grades: graded relevance in half steps (Home Depot: 0..2 -> 0..4).
        y = np.clip(np.rint(np.concatenate([g[1] for g in part]) * 2), 0, 30).astype(np.int32)
        x = np.vstack([g[0] for g in part])
        return lgb.Dataset(x, y, group=[len(g[1]) for g in part], feature_name=list(FEATURES), **kw)

    train_set = dataset(train)
    booster = lgb.train(
        {**PARAMS, "seed": seed},
        train_set,
        num_boost_round=max_rounds,
        valid_sets=[dataset(valid, reference=train_set)],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    fused_ndcg = float(np.mean([_ndcg10(x[:, 0], y) for x, y in valid]))
    ranked_ndcg = float(
        np.mean([_ndcg10(np.asarray(booster.predict(x, num_threads=1)), y) for x, y in valid])
    )
    report = {
        "trained": True,
        "kept": ranked_ndcg > fused_ndcg,
        "train_queries": len(train),
        "valid_queries": len(valid),
        "rounds": int(booster.best_iteration or booster.current_iteration()),
        "valid_ndcg_fused": fused_ndcg,
        "valid_ndcg_reranked": ranked_ndcg,
    }
    return (Reranker(booster, top_k) if report["kept"] else None), report
