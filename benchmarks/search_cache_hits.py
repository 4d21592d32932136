"""Hit rate of the search answer cache on the Home Depot query log, by cache size.

Usage::

    .venv/bin/python benchmarks/search_cache_hits.py [DATASETS_DIR] [--answer-bytes 3000]

The Home Depot file has one row per (query, product) pair that shoppers were shown: 74,067 rows,
11,795 distinct queries. Read in ``id`` order it is the closest thing to a query log the public
data has. Each row is one search (same ``k``, no filters, no history), replayed through
``storage.lru.LruCache`` as ``serving.search_cache.SearchAnswerCache`` keeps answers, each
answer costing ``--answer-bytes`` (the mean encoded answer ``benchmarks/capacity.py`` reports)
plus the per-entry overhead. Also replayed shuffled (seed 0), which spreads each query's repeats
over the whole log: a harder order for a small cache.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.lru import ENTRY_OVERHEAD, LruCache  # noqa: E402
from training.real_data import dataset_path  # noqa: E402


def hit_rate(queries: list[str], max_bytes: int, answer_bytes: int) -> tuple[float, int]:
    cache: LruCache[bool] = LruCache(max_bytes)
    for query in queries:
        if cache.get(query) is None:
            cache.put(query, True, answer_bytes + len(query))
    stats = cache.stats()
    return stats.hit_rate, stats.entries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="?", default=None)
    parser.add_argument("--answer-bytes", type=int, default=3000)
    args = parser.parse_args(argv)
    frame = pd.read_parquet(dataset_path("homedepot-search-relevance", args.datasets) / "train.parquet")
    log = frame.sort_values("id")["search_term"].astype(str).str.strip().tolist()
    shuffled = [log[i] for i in np.random.default_rng(0).permutation(len(log))]
    print(f"{len(log):,} searches, {len(set(log)):,} distinct queries; best possible hit rate "
          f"{1 - len(set(log)) / len(log):.3f}\n")  # fmt: skip
    print("| cache | answers it holds | hit rate, file order | hit rate, shuffled |\n|---|---:|---:|---:|")
    for mb in (1, 4, 8, 16, 32, 64):
        budget = mb * 2**20
        in_order, held = hit_rate(log, budget, args.answer_bytes)
        mixed, _ = hit_rate(shuffled, budget, args.answer_bytes)
        default = " (default)" if mb == 32 else ""
        print(f"| {mb} MB{default} | {held:,} | {in_order:.3f} | {mixed:.3f} |")
    print(f"\n(each answer {args.answer_bytes:,} bytes + {ENTRY_OVERHEAD} of overhead + the query)")


if __name__ == "__main__":
    main()
