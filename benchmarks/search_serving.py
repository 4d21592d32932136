"""Serving speed of the hybrid search over the 54,667-product Home Depot catalog, over a real uvicorn.

Usage::

    .venv/bin/python benchmarks/search_serving.py [DATASETS_DIR] [--duration 10] [--concurrency 8]

Steps: read every Home Depot product title (``benchmarks/search_homedepot.py``; real titles, the
catalog vectors from its on-disk cache, or encoded now), give each product seeded synthetic
store attributes the file lacks (brand = the title's first word, one of 12 x 4 category paths,
a log-normal price, 90 % in stock), fit ``HybridSearch`` with score fusion tuned on the first
``--tune-queries`` queries of the tuning half (weights and the LambdaRank re-ranker, so the served
model pays the re-ranking like the benchmarked one), save it, start
uvicorn on the saved model (``benchmarks/loadgen.py``) and load it from this second process:
keep-alive, concurrency 8, ``/health`` first on the same server, then ``POST /v1/search`` with real
test queries (plain; filtered by category + in stock + price; misspelled by swapping the last two
letters) and ``GET /v1/search/suggest`` with their first 2-6 letters. The uvicorn process's
``VmRSS``/``VmHWM`` are read from ``/proc`` after start and after the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import search_homedepot as homedepot  # noqa: E402
from benchmarks.loadgen import Scenario, measure_all, print_table, running_server  # noqa: E402
from embedding.export import exported_encoder  # noqa: E402
from search.hybrid import HybridSearch  # noqa: E402

DEPARTMENTS = ("Tools", "Garden", "Lighting", "Plumbing", "Electrical", "Paint", "Flooring", "Kitchen",
               "Bath", "Hardware", "Outdoor", "Storage")  # fmt: skip
SUBS = ("Basics", "Pro", "Accessories", "Parts")


def store_catalog(titles_only: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The real titles with seeded synthetic brand, category path, price and stock."""
    rng = np.random.default_rng(seed)
    n = len(titles_only)
    dept = rng.integers(0, len(DEPARTMENTS), n)
    sub = rng.integers(0, len(SUBS), n)
    return titles_only.assign(
        brand=titles_only["title"].str.split().str[0].fillna(""),
        category=[f"{DEPARTMENTS[d]} > {SUBS[s]}" for d, s in zip(dept, sub, strict=True)],
        price=np.round(rng.lognormal(3.3, 1.0, n), 2),
        in_stock=rng.random(n) < 0.9,
    )


def child_pid(command_part: str) -> int:
    """The pid of this process's child whose command line contains ``command_part``."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if ppid == me and command_part in cmd:
            return int(entry.name)
    raise RuntimeError(f"no child process running {command_part!r}")


def memory_mb(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak) of ``pid`` in MB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {ln.split(":")[0]: int(ln.split()[1]) / 1024 for ln in lines if ln.startswith(("VmRSS", "VmHWM"))}


def scenarios(queries: list[str]) -> list[Scenario]:
    """Plain, filtered and misspelled search, and suggest, cycling through ``queries``."""
    typo = [q[:-2] + q[-1] + q[-2] if len(q) > 5 else q for q in queries]
    n = len(queries)

    def filtered(i: int) -> dict:
        dept = DEPARTMENTS[i % len(DEPARTMENTS)]
        return {
            "query": queries[i % n],
            "k": 10,
            "filters": {"category": dept, "in_stock_only": True, "price_min": 5, "price_max": 200},
        }

    return [
        Scenario("search, plain", "POST", "/v1/search", body=lambda i: {"query": queries[i % n], "k": 10}),
        Scenario("search, filtered (category + in stock + price)", "POST", "/v1/search", body=filtered),
        Scenario("search, misspelled", "POST", "/v1/search", body=lambda i: {"query": typo[i % n], "k": 10}),
        Scenario(
            "suggest (first 2-6 letters)",
            "GET",
            lambda i: f"/v1/search/suggest?k=10&q={quote(queries[i % n][: 2 + i % 5])}",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="?", default=None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tune-queries", type=int, default=1000, help="judged queries to tune on")
    args = parser.parse_args(argv)

    titles_only, judgments = homedepot.load(args.datasets)
    tune, test = homedepot.split_queries(judgments, args.seed)
    encoder_dir = exported_encoder()
    vectors, _ = homedepot.catalog_vectors(titles_only, encoder_dir)
    catalog = store_catalog(titles_only, args.seed)
    start = time.perf_counter()
    model = HybridSearch(fusion="score", random_state=args.seed).fit(
        catalog, vectors=vectors, encoder_dir=encoder_dir
    )
    fit_s = time.perf_counter() - start
    model.tune(dict(list(tune.items())[: args.tune_queries]))
    reranker = "with" if model.reranker_ is not None else "without"
    queries = [q for q in test if q.strip()][:256]  # the wrk script cycles through 256 requests
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = model.save(Path(tmp) / "search")
        del model
        started = time.perf_counter()
        with running_server({"search": str(model_dir)}, ready_timeout=300) as (url, key):
            ready_s = time.perf_counter() - started
            pid = child_pid("uvicorn")
            at_start = memory_mb(pid)
            rows = measure_all(
                url, key, scenarios(queries), concurrency=args.concurrency, duration=args.duration
            )
            after = memory_mb(pid)
    print(
        f"\n{len(catalog):,} products (Home Depot titles), {len(queries)} real test queries cycled; "
        f"index fit {fit_s:.1f} s (vectors given), served {reranker} the re-ranker, "
        f"server ready in {ready_s:.1f} s\n"
    )
    print_table(rows, title=f"concurrency {args.concurrency}, {args.duration:.0f}s per endpoint")
    print("status codes:", {r.name: r.statuses for r in rows})
    print(
        f"\nuvicorn RSS: after start {at_start['VmRSS']:.0f} MB; after the load "
        f"{after['VmRSS']:.0f} MB, peak (VmHWM) {after['VmHWM']:.0f} MB"
    )


if __name__ == "__main__":
    main()
