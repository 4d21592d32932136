"""Serving speed of the hybrid recommender on a large synthetic catalog, over a real uvicorn.

Usage::

    .venv/bin/python benchmarks/recsys_serving.py [--items 100000] [--users 50000] [--duration 10]

Builds a synthetic store (``--items`` items in 500 leaf categories with Zipf popularity; shoppers
with a favourite category browsing in short chains; 2-item orders), fits ``HybridRecommender``
(content vectors are synthetic 16-d category clusters: MiniLM on 100k texts would take minutes
and does not change serving cost, which only reads the neighbour table), saves it, starts uvicorn
on it with ``benchmarks/loadgen.py`` and loads it from this process: keep-alive, concurrency 8,
``/health`` first on the same server. Prints the in-process latency of each query type too.
"""

from __future__ import annotations

import os

# Before numpy loads OpenBLAS: single-query calls on one thread, as the server runs them.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from benchmarks.loadgen import Scenario, measure_all, print_table, running_server  # noqa: E402
from recsys.hybrid import HybridRecommender  # noqa: E402
from recsys.types import ItemFilter  # noqa: E402

END = pd.Timestamp("2026-10-31")


def synthetic_store(n_items: int, n_users: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Catalog, events (about 16 per user) and 16-d unit content vectors."""
    rng = np.random.default_rng(seed)
    leaf = rng.integers(0, 500, n_items)
    catalog = pd.DataFrame(
        {
            "item_id": [f"i{i:06d}" for i in range(n_items)],
            "title": [f"Item {i}" for i in range(n_items)],
            "category": [f"Top{c % 20} > Leaf{c}" for c in leaf],
            "brand": [f"B{b}" for b in rng.integers(0, 2000, n_items)],
            "price": rng.uniform(2, 300, n_items).round(2),
            "in_stock": rng.random(n_items) > 0.05,
            "created_at": END - pd.to_timedelta(rng.integers(1, 700, n_items), unit="D"),
        }
    )
    per_user = rng.integers(4, 28, n_users)
    users = np.repeat(np.arange(n_users), per_user)
    popular = (rng.zipf(1.3, len(users)) - 1) % n_items
    chained = (np.roll(popular, 1) + rng.integers(1, 4, len(users))) % n_items
    items = np.where(rng.random(len(users)) < 0.4, chained, popular)
    kinds = rng.choice(["view", "add_to_cart", "purchase"], len(users), p=[0.7, 0.2, 0.1])
    times = END - pd.to_timedelta(rng.integers(0, 90 * 24 * 60, len(users)), unit="m")
    events = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            "item_id": [f"i{i:06d}" for i in items],
            "event_type": kinds,
            "timestamp": times,
            "order_id": [
                f"o{u}-{t.day}" if k == "purchase" else None
                for u, t, k in zip(users, times, kinds, strict=True)
            ],
        }
    )
    centres = rng.normal(size=(500, 16))
    vectors = centres[leaf] + 0.3 * rng.normal(size=(n_items, 16))
    return catalog, events, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def in_process(model: HybridRecommender, users: list[str], items: list[str], n: int = 300) -> pd.DataFrame:
    """Median/p99 milliseconds per query type, called directly (no HTTP)."""
    flt = ItemFilter(category="Top3", price_max=150)
    calls = {
        "recommend known user": lambda i: model.recommend(user_id=users[i % len(users)], k=10),
        "recommend session": lambda i: model.recommend(session_item_ids=items[i % 50 : i % 50 + 3], k=10),
        "recommend known user + filters": lambda i: model.recommend(
            user_id=users[i % len(users)], k=10, filters=flt
        ),
        "similar_items": lambda i: model.similar_items(items[i % len(items)], k=10),
        "bought_together": lambda i: model.bought_together(items[i % len(items)], k=10),
    }
    rows = {}
    for name, call in calls.items():
        took = []
        for i in range(n):
            started = time.perf_counter()
            call(i)
            took.append((time.perf_counter() - started) * 1000)
        rows[name] = {"p50 ms": float(np.median(took)), "p99 ms": float(np.percentile(took, 99))}
    return pd.DataFrame(rows).T


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--state-url",
        default=None,
        help="shared online state for several workers, e.g. redis://127.0.0.1:6379/14",
    )
    args = parser.parse_args(argv)
    catalog, events, vectors = synthetic_store(args.items, args.users, args.seed)
    started = time.perf_counter()
    model = HybridRecommender(rerank_max_users=3000, random_state=args.seed).fit(
        events, catalog, embeddings=vectors
    )
    print(
        f"fit: {time.perf_counter() - started:.1f} s on {len(events)} events, {args.items} items; "
        f"re-ranker used: {model.booster_ is not None}; stages: {model.timings_}"
    )
    users = sorted(events["user_id"].unique())[:2000]
    popular = model.trending(k=200, filters=ItemFilter(in_stock_only=False)).item_ids
    print(in_process(model, users, popular).round(2).to_string())
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(Path(tmp) / "recsys")
        scenarios = [
            Scenario(
                "recs known user", "POST", "/v1/recommendations", body=lambda i: {"user_id": users[i % 2000]}
            ),
            Scenario(
                "recs anonymous session",
                "POST",
                "/v1/recommendations",
                body=lambda i: {"session_item_ids": popular[i % 50 : i % 50 + 3]},
            ),
            Scenario(
                "recs known user + filters",
                "POST",
                "/v1/recommendations",
                body=lambda i: {
                    "user_id": users[i % 2000],
                    "filters": {"category": "Top3", "price_max": 150},
                    "max_per_category": 2,
                },
            ),
            Scenario("similar", "GET", lambda i: f"/v1/items/{popular[i % 200]}/similar"),
            Scenario("bought-together", "GET", lambda i: f"/v1/items/{popular[i % 200]}/bought-together"),
        ]
        env = {"OPENBLAS_NUM_THREADS": "1"}
        if args.state_url:
            env["SHELFWISE_STATE_URL"] = args.state_url
        with running_server({"recsys": str(path)}, env=env, workers=args.workers) as (url, key):
            if args.workers > 1:
                time.sleep(10)  # /ready answered by one worker; give the others time to load
            rows = measure_all(url, key, scenarios, duration=args.duration)
    setup = f"{args.workers} worker(s), state {'in process' if not args.state_url else args.state_url}"
    print_table(rows, title=f"{args.items} items, concurrency 8, {args.duration:.0f}s per endpoint, {setup}")


if __name__ == "__main__":
    main()
