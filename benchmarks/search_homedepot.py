"""BM25 product search on real queries: the Home Depot search-relevance judgments.

Usage::

    .venv/bin/python benchmarks/search_homedepot.py [DATASETS_DIR] [--fraction 0.2] [--seed 0]

``DATASETS_DIR`` defaults to ``$SHELFWISE_DATASETS``, then ``../shared/data`` next to the repo. It
must hold ``homedepot-search-relevance/train.parquet`` (read in place, never copied).

Method (so the numbers can be compared between runs):

- The catalog is every distinct ``product_uid`` with its title (the file has titles only; no
  description, category or brand).
- Evaluation queries are a fixed, query-grouped sample: ``fraction`` of the distinct search terms,
  drawn with ``seed``. BM25 learns nothing from judgments, so the split only fixes which queries
  are scored and leaves the rest for tuned models later.
- Every query ranks **all** products, not only the few judged for it. An unjudged product has
  gain 0: judged items per query are few (about 6), so this is a lower bound that penalises every
  method alike.
- Relevance is the mean rating 1..3 shifted to 0..2 (``relevance - 1``), because a rating of 1
  means "irrelevant" and must earn nothing. NDCG uses exponential gains ``2**rel - 1`` (see
  ``search.metrics``); MRR and recall count an item as relevant when its shifted relevance > 0.
- Baselines: the products sharing any token with the query in a seeded random order (BM25's own
  candidate set, unranked) and a uniformly random pick among all products.
- Latency is one ``search(query, k=10)`` call (tokenise, score, filter, facets, top-k), timed per
  evaluation query in one process after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from search.bm25 import BM25Search  # noqa: E402
from search.metrics import evaluate, judgments_by_query  # noqa: E402

DATASET = "homedepot-search-relevance/train.parquet"
K = 10


def dataset_path(arg: str | None) -> Path:
    """The parquet file under the folder given, ``$SHELFWISE_DATASETS`` or ``../shared/data``."""
    root = arg or os.environ.get("SHELFWISE_DATASETS")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "data"
    path = base / DATASET
    if not path.is_file():
        sys.exit(f"{path} not found; pass the datasets folder or set SHELFWISE_DATASETS")
    return path


def load(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The catalog (one row per product) and the judgments (query, item_id, shifted relevance)."""
    raw = pd.read_parquet(path, columns=["product_uid", "product_title", "search_term", "relevance"])
    products = raw.drop_duplicates("product_uid")
    catalog = pd.DataFrame(
        {
            "item_id": products["product_uid"].astype(str).to_numpy(),
            "title": products["product_title"].astype(str).to_numpy(),
            "description": "",
            "category": "",
            "brand": "",
            "price": np.nan,
            "in_stock": True,
        }
    )
    judgments = pd.DataFrame(
        {
            "query": raw["search_term"].astype(str),
            "item_id": raw["product_uid"].astype(str),
            "relevance": raw["relevance"].astype(float) - 1.0,
        }
    )
    return catalog, judgments


def eval_queries(judgments: pd.DataFrame, fraction: float, seed: int) -> dict[str, dict[str, float]]:
    """Judgments of a seeded ``fraction`` of the distinct queries (the query-grouped split)."""
    queries = np.sort(judgments["query"].unique())
    rng = np.random.default_rng(seed)
    picked = set(rng.permutation(queries)[: int(round(fraction * len(queries)))])
    judged = judgments_by_query(judgments[judgments["query"].isin(picked)])
    return {q: rels for q, rels in judged.items() if q.strip()}


def run_bm25(model: BM25Search, queries: list[str]) -> tuple[dict[str, list[str]], np.ndarray]:
    """Top-``K`` rankings and per-query latency in milliseconds."""
    for q in queries[:50]:  # warm-up: first calls pay for page faults and lazy imports
        model.search(q, k=K)
    rankings, millis = {}, []
    for q in queries:
        start = time.perf_counter()
        result = model.search(q, k=K)
        millis.append((time.perf_counter() - start) * 1e3)
        rankings[q] = [h.item_id for h in result.hits]
    return rankings, np.asarray(millis)


def random_baselines(model: BM25Search, queries: list[str], all_ids: list[str], seed: int) -> dict:
    """Rankings of the two random baselines, keyed by their table label."""
    rng = np.random.default_rng(seed)
    matched: dict[str, list[str]] = {}
    anything: dict[str, list[str]] = {}
    for q in queries:
        ids = model.match_ids(q)
        pick = rng.choice(len(ids), size=min(K, len(ids)), replace=False) if ids else np.empty(0, int)
        matched[q] = [ids[i] for i in pick]
        anything[q] = [all_ids[i] for i in rng.choice(len(all_ids), size=K, replace=False)]
    return {"random among token matches": matched, "random product": anything}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="?", help="folder holding homedepot-search-relevance/")
    parser.add_argument("--fraction", type=float, default=0.2, help="share of queries evaluated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    catalog, judgments = load(dataset_path(args.datasets))
    judged = eval_queries(judgments, args.fraction, args.seed)
    queries = list(judged)
    start = time.perf_counter()
    model = BM25Search(random_state=args.seed).fit(catalog)
    fit_s = time.perf_counter() - start
    rankings, millis = run_bm25(model, queries)
    rows = {"BM25 (k1=1.5, b=0.75, title_boost=2)": rankings}
    rows.update(random_baselines(model, queries, catalog["item_id"].tolist(), args.seed))

    n_eval = sum(any(r > 0 for r in rels.values()) for rels in judged.values())
    print(
        f"Home Depot search relevance: {len(catalog):,} products, {len(queries):,} evaluation queries "
        f"({n_eval:,} with a relevant product), fraction {args.fraction}, seed {args.seed}\n"
    )
    print(f"| method | NDCG@{K} | MRR@{K} | Recall@{K} |")
    print("|---|---:|---:|---:|")
    for label, ranked in rows.items():
        m = evaluate(ranked, judged, K)
        print(f"| {label} | {m[f'ndcg_at_{K}']:.4f} | {m[f'mrr_at_{K}']:.4f} | {m[f'recall_at_{K}']:.4f} |")
    print(
        f"\nBM25 index build: {fit_s:.2f} s. search(k={K}) latency over {len(millis):,} queries: "
        f"median {np.median(millis):.2f} ms, p95 {np.percentile(millis, 95):.2f} ms, "
        f"max {millis.max():.2f} ms."
    )


if __name__ == "__main__":
    main()
