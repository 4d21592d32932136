"""Hybrid vs BM25 product search on real queries: the Home Depot search-relevance judgments.

Usage::

    .venv/bin/python benchmarks/search_homedepot.py [DATASETS_DIR] [--seed 0] [--max-queries N]
        [--hnsw-min-items N] [--train-budgets 0 2] [--only-train]

``DATASETS_DIR`` defaults to ``$SHELFWISE_DATASETS``, then ``../shared/data`` next to the repo. It
must hold ``homedepot-search-relevance/train.parquet`` (read in place, never copied).

Protocol (issue 4):

- The catalog is every distinct ``product_uid`` (54,667) with its title (the file has titles only).
- The distinct queries are split 50/50 with ``seed`` into a tuning half and a test half. Only the
  tuned hybrid uses the tuning half (to pick its fusion weight); every number is on the test half.
- Every test query retrieves from the **full corpus**. An unjudged product has gain 0.
- Relevance is the mean rating 1..3 shifted to 0..2 (``relevance - 1``): a rating of 1 means
  "irrelevant" and earns nothing. NDCG@10 uses exponential gains ``2**rel - 1``; MRR@10 and
  Recall@100 count an item as relevant when its shifted relevance > 0.
- Rows: first what a store gets, ``shelfwise train`` defaults (the tuning half written as a store
  folder, the job run through ``training.pipeline.fit_family`` with each ``--train-budgets`` settings
  search budget in minutes, the saved model loaded and called as the search route calls it, against
  BM25 on the same store catalog: ``benchmarks/search_homedepot_store.py``); then the hand-configured
  rows: the BM25 baseline model (``BM25Search``), the hybrid's semantic side alone (MiniLM int8
  ONNX + exact FAISS), reciprocal rank fusion, and score fusion with the tuned weight. The hybrid
  rows include its spelling correction (Home Depot queries are full of typos).

Catalog embeddings are cached outside the repo (``$SHELFWISE_ENCODER_CACHE`` or
``<tmp>/shelfwise-encoder-cache``) keyed by the encoder's fingerprint and a hash of the texts.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from benchmarks.search_homedepot_store import print_rows, train_rows  # noqa: E402
from embedding.encoder import QueryEncoder  # noqa: E402
from embedding.export import cache_root, exported_encoder  # noqa: E402
from search.bm25 import BM25Search  # noqa: E402
from search.catalog import embed_texts  # noqa: E402
from search.hybrid import HybridSearch  # noqa: E402
from search.keyword import field_texts  # noqa: E402
from search.metrics import mrr, ndcg_at_k, recall_at_k  # noqa: E402
from search.types import SearchFilters  # noqa: E402
from search.vectors import build_faiss  # noqa: E402
from training.real_data import dataset_path  # noqa: E402

DATASET = "homedepot-search-relevance"
K = 10
DEEP = 100


def load(folder: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The catalog (one row per product) and the judgments (query, item_id, shifted relevance)."""
    path = dataset_path(DATASET, folder) / "train.parquet"
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


def split_queries(judgments: pd.DataFrame, seed: int) -> tuple[dict, dict]:
    """Tuning and test halves: sorted distinct queries, a seeded permutation, cut in two."""
    from search.metrics import judgments_by_query

    judged = {q: r for q, r in judgments_by_query(judgments).items() if q.strip()}
    queries = sorted(judged)
    order = np.random.default_rng(seed).permutation(len(queries))
    half = len(queries) // 2
    return {queries[i]: judged[queries[i]] for i in order[:half]}, {
        queries[i]: judged[queries[i]] for i in order[half:]
    }


def catalog_vectors(catalog: pd.DataFrame, encoder_dir: Path) -> tuple[np.ndarray, float | None]:
    """Catalog vectors from the disk cache, or encoded now (then also the encoding seconds)."""
    texts = embed_texts(field_texts(catalog))
    digest = hashlib.sha256(("\n".join(texts) + encoder_dir.name).encode()).hexdigest()[:16]
    path = cache_root() / f"homedepot-vectors-{digest}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False), None
    start = time.perf_counter()
    # Batches of 32 for speed: the int8 graph quantises per batch, so these vectors differ from
    # fit's one-text-at-a-time ones by quantisation noise only (cosine > 0.99).
    vectors = QueryEncoder(encoder_dir).encode(texts, batch_size=32)
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors, allow_pickle=False)
    return vectors, seconds


def metrics(rankings: dict[str, list[str]], judged: dict) -> tuple[float, float, float]:
    return ndcg_at_k(rankings, judged, K), mrr(rankings, judged, K), recall_at_k(rankings, judged, DEEP)


def quality(model: HybridSearch, bm25: BM25Search, test: dict) -> dict[str, dict[str, list[str]]]:
    """Top-100 rankings per method on the test half (candidates computed once per query)."""
    rows: dict[str, dict[str, list[str]]] = {"BM25 baseline (BM25Search)": {}}
    labels = {
        "semantic": "semantic (MiniLM int8 ONNX, "
        + ("HNSW" if model.state_ is not None and model.state_.vectors.approximate else "exact")
        + ")",
        "rrf": "hybrid, RRF",
        "hybrid": f"hybrid, score fusion (tuned: semantic w={model.semantic_weight_:.2f}, "
        f"coverage c={model.coverage_weight_:.2f})"
        + (f" + LambdaRank re-rank of the top {model.rerank_k}" if model.reranker_ is not None else ""),
    }
    rows.update({label: {} for label in labels.values()})
    for q in test:
        rows["BM25 baseline (BM25Search)"][q] = [h.item_id for h in bm25.search(q, k=DEEP).hits]
        cands = model.candidates(q)
        for method, label in labels.items():
            rows[label][q] = model.ranked_ids(cands, method=method, k=DEEP)
    return rows


def timed(fn, items, repeat: int = 1) -> np.ndarray:
    """Milliseconds per call of ``fn`` over ``items`` (after a warm-up of 20)."""
    for x in items[:20]:
        fn(x)
    out = []
    for _ in range(repeat):
        for x in items:
            start = time.perf_counter()
            fn(x)
            out.append((time.perf_counter() - start) * 1e3)
    return np.asarray(out)


def encoder_speed(queries: list[str], encoder_dir: Path) -> dict[str, np.ndarray]:
    """Single-query encoding time: ONNX int8, ONNX fp32, sentence-transformers (torch)."""
    from sentence_transformers import SentenceTransformer

    from embedding.export import model_dir

    int8 = QueryEncoder(encoder_dir)
    fp32 = QueryEncoder(encoder_dir, model_file="model_fp32.onnx")
    torch_model = SentenceTransformer(str(model_dir()), device="cpu")
    return {
        "ONNX int8 (served)": timed(int8.encode_one, queries),
        "ONNX fp32": timed(fp32.encode_one, queries),
        "torch (sentence-transformers)": timed(lambda q: torch_model.encode(q), queries),
    }


def hnsw_recall(vectors: np.ndarray, queries: np.ndarray) -> tuple[float, float, float]:
    """Recall@10 of HNSW (M=32, efSearch=128) against exact, build seconds, HNSW query ms."""
    import faiss

    exact = build_faiss(vectors, hnsw_min_items=len(vectors) + 1)
    start = time.perf_counter()
    hnsw = build_faiss(vectors, hnsw_min_items=1)
    build = time.perf_counter() - start
    _, truth = exact.search(queries, K)
    params = faiss.SearchParametersHNSW(efSearch=128)
    start = time.perf_counter()
    _, got = hnsw.search(queries, K, params=params)
    per_query = (time.perf_counter() - start) * 1e3 / len(queries)
    recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(truth, got, strict=True)])
    return float(recall), build, per_query


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="?", help="folder holding homedepot-search-relevance/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-queries", type=int, default=0, help="cap each half (0 = all)")
    parser.add_argument(
        "--hnsw-min-items", type=int, default=None, help="HybridSearch's hnsw_min_items (default: its own)"
    )
    parser.add_argument(
        "--train-budgets",
        type=float,
        nargs="*",
        default=[0.0, 2.0],
        help="settings search minutes per `shelfwise train` row (none: no such rows)",
    )
    parser.add_argument("--only-train", action="store_true", help="only the `shelfwise train` rows")
    args = parser.parse_args(argv)

    catalog, judgments = load(args.datasets)
    tune, test = split_queries(judgments, args.seed)
    if args.max_queries:
        tune = dict(list(tune.items())[: args.max_queries])
        test = dict(list(test.items())[: args.max_queries])
    if args.train_budgets:
        print(
            f"| method | NDCG@{K} | MRR@{K} | Recall@{DEEP} | NDCG@{K} vs BM25 |\n|---|---:|---:|---:|---:|"
        )
        print_rows(train_rows(catalog, judgments, tune, test, args.train_budgets))
        print(flush=True)
    if args.only_train:
        return
    encoder_dir = exported_encoder()
    vectors, encode_s = catalog_vectors(catalog, encoder_dir)

    start = time.perf_counter()
    bm25 = BM25Search(random_state=args.seed).fit(catalog)
    bm25_s = time.perf_counter() - start
    start = time.perf_counter()
    index_params = {} if args.hnsw_min_items is None else {"hnsw_min_items": args.hnsw_min_items}
    model = HybridSearch(random_state=args.seed, **index_params).fit(
        catalog, vectors=vectors, encoder_dir=encoder_dir
    )
    index_s = time.perf_counter() - start
    start = time.perf_counter()
    model.tune(tune, k=K)
    tune_s = time.perf_counter() - start

    n = len(catalog)
    n_eval = sum(any(r > 0 for r in rels.values()) for rels in test.values())
    print(
        f"Home Depot search relevance: {n:,} products, {len(tune):,} tuning / {len(test):,} test queries "
        f"({n_eval:,} with a relevant product), seed {args.seed}\n"
    )
    print(f"| method | NDCG@{K} | MRR@{K} | Recall@{DEEP} | NDCG@{K} vs BM25 |")
    print("|---|---:|---:|---:|---:|")
    rows = quality(model, bm25, test)
    base = None
    for label, ranked in rows.items():
        nd, rr, rc = metrics(ranked, test)
        base = base or nd
        print(f"| {label} | {nd:.4f} | {rr:.4f} | {rc:.4f} | {nd / base:.3f}x |")
    print(
        f"\nFusion weights tuned on the tuning half in {tune_s:.1f} s (21 x 6 grid, then the re-ranker): "
        f"semantic w={model.semantic_weight_:.2f}, coverage c={model.coverage_weight_:.2f}; "
        f"re-ranker: {(model.tuning_ or {}).get('rerank', 'not trained')}.\n"
    )
    speed(model, catalog, vectors, list(test), encoder_dir, bm25_s, index_s, encode_s)


def speed(model, catalog, vectors, queries, encoder_dir, bm25_s, index_s, encode_s) -> None:
    """Build times per 10k products, encoder timings, HNSW recall and in-process search latency."""
    per10k = 1e4 / len(catalog)
    enc = f"{encode_s * per10k:.1f} s" if encode_s else "cached (see docs for the measured rate)"
    print("| build step | per 10k products |\n|---|---:|")
    print(f"| catalog encoding (ONNX int8, batches of 32) | {enc} |")
    print(f"| BM25 baseline index | {bm25_s * per10k:.2f} s |")
    print(
        f"| hybrid index (field BM25 + FAISS {'HNSW' if model.state_.vectors.approximate else 'flat'} "
        f"+ speller + suggester; vectors given) | {index_s * per10k:.2f} s |"
    )
    sample = queries[:300]
    recall, hnsw_s, hnsw_ms = hnsw_recall(vectors, QueryEncoder(encoder_dir).encode(sample))
    print(f"| FAISS HNSW (M=32, efConstruction=80) build | {hnsw_s * per10k:.2f} s |")
    print(
        f"\nHNSW vs exact on these real embeddings ({len(sample)} test queries): recall@{K} {recall:.3f}, "
        f"{hnsw_ms:.3f} ms/query (batched).\n"
    )
    print("| single-query encoding | median ms | p99 ms |\n|---|---:|---:|")
    for label, ms in encoder_speed(sample, encoder_dir).items():
        print(f"| {label} | {np.median(ms):.2f} | {np.percentile(ms, 99):.2f} |")
    typo = [q[:-2] + q[-1] + q[-2] if len(q) > 5 else q for q in sample]  # swap the last two letters
    calls = {
        "search, plain": lambda q: model.search(q, k=K),
        # every product is in stock, so this is the worst case: exact scoring of all 54k vectors
        "search, filtered (in stock: exact over the allowed set)": lambda q: model.search(
            q, k=K, filters=SearchFilters(in_stock_only=True)
        ),
        "search, misspelled": lambda q: model.search(q, k=K),
        "suggest (first 4 letters)": lambda q: model.suggest(q[:4], k=K),
    }
    print("\n| in-process call (54k products) | median ms | p99 ms |\n|---|---:|---:|")
    for label, fn in calls.items():
        ms = timed(fn, typo if "misspelled" in label else sample)
        print(f"| {label} | {np.median(ms):.2f} | {np.percentile(ms, 99):.2f} |")
    serving_footprint(model, sample)


_FOOTPRINT = """
import json, sys, time
start = time.perf_counter()
from models.loader import load_model
model = load_model(sys.argv[1])
load_s = time.perf_counter() - start
queries = json.loads(sys.argv[2])
for q in queries:
    model.search(q, k=10)
# VmHWM, not getrusage: ru_maxrss survives exec, so it would report the parent's peak
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(json.dumps({"load_s": load_s, "max_rss_mb": int(hwm.split()[1]) / 1024,
                  "torch_imported": "torch" in sys.modules}))
"""


def serving_footprint(model: HybridSearch, queries: list[str]) -> None:
    """Save the 54k model, then load it and search in a fresh process: load time, peak RSS, no torch."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        model.save(folder)
        save_s = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 2**20
        root = Path(__file__).resolve().parents[1]
        out = subprocess.run(
            [sys.executable, "-c", _FOOTPRINT, folder, json.dumps(queries)],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"\nServing footprint (fresh process, load + {len(queries)} searches): artifact {size:.0f} MB, "
        f"save {save_s:.1f} s, load {got['load_s']:.1f} s, peak RSS {got['max_rss_mb']:.0f} MB, "
        f"torch imported: {got['torch_imported']}."
    )


if __name__ == "__main__":
    main()
