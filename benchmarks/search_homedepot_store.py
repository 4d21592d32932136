"""What a store gets on Home Depot: `shelfwise train` defaults, the saved model, the search route's call.

Used by ``benchmarks/search_homedepot.py`` (its ``shelfwise train`` rows); also runnable alone::

    .venv/bin/python benchmarks/search_homedepot_store.py [DATASETS_DIR] [--budget-minutes 0 2]
        [--seed 0] [--max-queries N]

Nothing here is tuned for Home Depot. The benchmark's query split (``split_queries``, seed 0) is
kept: the products and only the **tuning half's** judgments are written as a store folder (a
temporary folder; the held-out queries never go in it), with filler columns the data contract
requires and the file lacks (category and brand ``"unknown"``, a word no query uses; price 0; in
stock; one ``created_at``) and the benchmark's relevance (mean rating - 1, so 0..2). The search
job trains on that folder exactly as ``shelfwise train search --data FOLDER`` does
(``training.pipeline.fit_family``: its defaults, its settings search with the given budget), the
saved model is loaded as the server loads it (``models.loader.load_model``), and every held-out
query is answered by ``model.search(query, k=100, filters=SearchFilters())``: the search route's
call with its default filters (its top 10 is what ``k=10`` returns). The bar is the BM25 baseline
model fitted on the same store catalog, scored on the same held-out queries.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from models.loader import load_model  # noqa: E402
from search.bm25 import BM25Search  # noqa: E402
from search.hybrid import HybridSearch  # noqa: E402
from search.metrics import mrr, ndcg_at_k, recall_at_k  # noqa: E402
from search.types import SearchFilters  # noqa: E402
from training.data import load_store  # noqa: E402
from training.jobs.search import embed_catalog  # noqa: E402
from training.pipeline import DEFAULT_SEED, fit_family  # noqa: E402

K = 10
DEEP = 100
FILLER = {"category": "unknown", "brand": "unknown", "price": 0.0, "in_stock": True}
CREATED = pd.Timestamp("2016-01-01")
ROUTE_FILTERS = SearchFilters()  # serving.schemas.search.SearchFilters' defaults


def export_store(catalog: pd.DataFrame, judgments: pd.DataFrame, tune: dict, folder: Path) -> None:
    """Write the products and the tuning queries' judgments as a store folder (docs/DATA.md)."""
    products = catalog[["item_id", "title"]].assign(**FILLER, created_at=CREATED)
    judged = judgments[judgments["query"].isin(set(tune))]
    judged = judged.groupby(["query", "item_id"], as_index=False, sort=False)["relevance"].mean()
    folder.mkdir(parents=True, exist_ok=True)
    products.to_parquet(folder / "catalog.parquet", index=False)
    judged.to_parquet(folder / "search_judgments.parquet", index=False)


def route_rankings(model, queries: list[str]) -> tuple[dict[str, list[str]], np.ndarray]:
    """Each query's ranked item ids as the search route gets them, and milliseconds per call."""
    rankings, ms = {}, []
    for q in queries:
        start = time.perf_counter()
        hits = model.search(q, k=DEEP, filters=ROUTE_FILTERS).hits
        ms.append((time.perf_counter() - start) * 1e3)
        rankings[q] = [h.item_id for h in hits]
    return rankings, np.asarray(ms)


def train_rows(
    catalog: pd.DataFrame, judgments: pd.DataFrame, tune: dict, test: dict, budgets_minutes: list[float]
) -> list[dict]:
    """One result per budget: the job's saved model on the held-out queries, and BM25 on them."""
    out = []
    with tempfile.TemporaryDirectory(prefix="shelfwise-homedepot-store-") as tmp:
        folder = Path(tmp) / "store"
        export_store(catalog, judgments, tune, folder)
        store = load_store(folder)
        assert store.catalog is not None
        # The job's own per-process cache: every fit_family below reuses these vectors, so the
        # encoding (the same call fit makes) is timed once, apart from the jobs.
        start = time.perf_counter()
        embed_catalog(store.catalog, max_length=HybridSearch().max_length)
        encode_s = time.perf_counter() - start
        bm25, _ = route_rankings(BM25Search().fit(store.catalog), list(test))
        for minutes in budgets_minutes:
            model_dir = Path(tmp) / f"model-{minutes:g}"
            start = time.perf_counter()
            fitted = fit_family("search", store, model_dir, seed=DEFAULT_SEED, budget_s=minutes * 60)
            fit_s = time.perf_counter() - start
            model = load_model(model_dir, family="search")
            ranked, ms = route_rankings(model, list(test))
            out.append(
                {
                    "budget_minutes": minutes,
                    "scores": scores(ranked, test),
                    "bm25": scores(bm25, test),
                    "fit_s": fit_s,
                    "encode_s": encode_s,
                    "search_ms": ms,
                    "job_ndcg": fitted.metrics.get("ndcg_at_10", float("nan")),
                    "job_bm25_ndcg": fitted.metrics.get("baseline_bm25_ndcg_at_10", float("nan")),
                    "tuning": fitted.tuning,
                    "params": fitted.params,
                }
            )
    return out


def scores(rankings: dict[str, list[str]], judged: dict) -> tuple[float, float, float]:
    """NDCG@10, MRR@10 and Recall@100."""
    return ndcg_at_k(rankings, judged, K), mrr(rankings, judged, K), recall_at_k(rankings, judged, DEEP)


def print_rows(rows: list[dict]) -> None:
    """The ``shelfwise train`` rows of the quality table, then what each job chose and how long it took."""
    for r in rows:
        nd, rr, rc = r["scores"]
        base = r["bm25"][0]
        label = f"`shelfwise train` defaults, settings search {r['budget_minutes']:g} min"
        print(f"| {label} | **{nd:.4f}** | {rr:.4f} | {rc:.4f} | **{nd / base:.3f}x** |")
    nd, rr, rc = rows[0]["bm25"]
    print(f"| BM25 baseline (BM25Search) on the store's catalog | {nd:.4f} | {rr:.4f} | {rc:.4f} | 1.000x |")
    print(
        f"\nCatalog encoding (the job's, once per process: all rows reuse it): {rows[0]['encode_s']:.0f} s."
    )
    for r in rows:
        p, ms = r["params"], r["search_ms"]
        weights = (
            f"w={p.get('semantic_weight', float('nan')):.2f} c={p.get('coverage_weight', float('nan')):.2f}"
        )
        print(
            f"- budget {r['budget_minutes']:g} min: fit_family {r['fit_s']:.0f} s after the encoding; route "
            f"call median {np.median(ms):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms; the job's own "
            f"cross-fitted NDCG@10 {r['job_ndcg']:.4f} vs BM25 {r['job_bm25_ndcg']:.4f} on the training "
            f"queries; final fusion {p.get('fusion')} {weights}; settings search: {p.get('settings_search')}"
        )
        for name in ("fold1", "fold2", "final"):
            if f"settings_search_{name}" in p:
                chosen = p.get(f"settings_chosen_{name}", "the defaults")
                print(f"  - {name}: {p[f'settings_search_{name}']}; chosen {chosen}")


def main(argv: list[str] | None = None) -> None:
    from benchmarks.search_homedepot import load, split_queries

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="?", help="folder holding homedepot-search-relevance/")
    parser.add_argument("--seed", type=int, default=0, help="the query split's seed")
    parser.add_argument("--budget-minutes", type=float, nargs="+", default=[0.0, 2.0])
    parser.add_argument("--max-queries", type=int, default=0, help="cap each half (0 = all)")
    args = parser.parse_args(argv)
    catalog, judgments = load(args.datasets)
    tune, test = split_queries(judgments, args.seed)
    if args.max_queries:
        tune = dict(list(tune.items())[: args.max_queries])
        test = dict(list(test.items())[: args.max_queries])
    print(f"{len(catalog):,} products, {len(tune):,} training / {len(test):,} held-out queries\n")
    print(f"| method | NDCG@{K} | MRR@{K} | Recall@{DEEP} | NDCG@{K} vs BM25 |\n|---|---:|---:|---:|---:|")
    print_rows(train_rows(catalog, judgments, tune, test, args.budget_minutes))


if __name__ == "__main__":
    main()
