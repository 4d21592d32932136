"""Server time per request of each family's hot routes, this checkout against an older one, in one run.

Usage::

    .venv/bin/python benchmarks/capacity.py [DATASETS_DIR] [--baseline-ref REF] [--work DIR]

Steps:

1. Build once, with this checkout, and keep under ``--work`` (reused when present): the hybrid
   search over the 54,667 Home Depot products (``benchmarks/search_serving.py``'s recipe, fusion
   and re-ranker tuned on 1,000 judged queries), the hybrid recommender on the 100k-item
   synthetic store (``benchmarks/recsys_serving.py``'s), and the velocity fraud model on the
   Fraud Detection Handbook with a month of warm online state (``benchmarks/fraud_serving.py``'s).
2. For each code version -- ``REF`` (a ``git archive`` snapshot, default ``HEAD``) and this
   checkout -- start a child process on that code which builds the app as ``uvicorn`` would (every
   middleware, durable fraud journal) on the same artifacts and calls it in process with prepared
   ASGI messages (``benchmarks/route_cpu.py``; no sockets): microseconds of server time per request.
3. Print one table: per route the old and new time, their ratio, and ``/health`` over the route.

Search rows without the word "cache" send every query once (distinct test queries, the answer
cache off), so they measure the model's work; "query log" replays the Home Depot query column in
file order with the default answer cache, as a store's traffic would reach it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 5


def build(work: Path, datasets: str | None) -> None:
    """The three artifacts, the fraud warm state and the request bodies, under ``work``."""
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import pandas as pd

    from training.real_data import dataset_path

    if not (work / "search").exists():
        from benchmarks import search_homedepot as homedepot
        from benchmarks.search_serving import store_catalog
        from embedding.export import exported_encoder
        from search.hybrid import HybridSearch

        titles_only, judgments = homedepot.load(datasets)
        tune, test = homedepot.split_queries(judgments, 0)
        encoder_dir = exported_encoder()
        vectors, _ = homedepot.catalog_vectors(titles_only, encoder_dir)
        model = HybridSearch(fusion="score", random_state=0).fit(
            store_catalog(titles_only, 0), vectors=vectors, encoder_dir=encoder_dir
        )
        model.tune(dict(list(tune.items())[:1000]))
        model.save(work / "search")
        frame = pd.read_parquet(dataset_path(homedepot.DATASET, datasets) / "train.parquet")
        log = frame.sort_values("id")["search_term"].astype(str).str.strip().tolist()
        (work / "search_queries.json").write_text(
            json.dumps({"test": [q for q in test if q.strip()], "log": log})
        )
    if not (work / "recsys").exists():
        from benchmarks.recsys_serving import synthetic_store
        from recsys.hybrid import HybridRecommender
        from recsys.types import ItemFilter

        catalog, events, vectors = synthetic_store(100_000, 50_000, 0)
        model = HybridRecommender(rerank_max_users=3000, random_state=0).fit(
            events, catalog, embeddings=vectors
        )
        users = sorted(events["user_id"].unique())[:2000]
        popular = model.trending(k=200, filters=ItemFilter(in_stock_only=False)).item_ids
        model.save(work / "recsys")
        (work / "recsys_ids.json").write_text(json.dumps({"users": users, "items": popular}))
    if not (work / "fraud").exists():
        from benchmarks import fraud_handbook as handbook
        from benchmarks.fraud_serving import warm_state
        from fraud.velocity_model import VelocityFraudModel

        data = handbook.load(dataset_path("fraud-handbook-simulated", datasets), "2018-06-01", "2018-08-01")
        model = VelocityFraudModel(entities=handbook.ENTITIES).fit(
            handbook.between(data, handbook.TRAIN), history=data[data["timestamp"] < handbook.TRAIN[0]]
        )
        warm_state(model, data, work / "fraud-state").close()
        rng = np.random.default_rng(0)
        customers, terminals = data["customer_id"].unique(), data["terminal_id"].unique()
        bodies = [
            {
                "transaction_id": f"capacity-{n}",
                "timestamp": f"2018-08-01T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}",
                "customer_id": str(customers[rng.integers(len(customers))]),
                "terminal_id": str(terminals[rng.integers(len(terminals))]),
                "amount": float(np.round(rng.lognormal(3.5, 1.0), 2)),
            }
            for n in range(30_000)
        ]
        (work / "fraud_bodies.json").write_text(json.dumps(bodies))
        model.save(work / "fraud")


def measure(work: Path, requests: int) -> dict[str, float]:
    """In-process µs per request of each route on the code this process imports (step 2)."""
    from benchmarks.route_cpu import KEY, _call, _scope

    queries = json.loads((work / "search_queries.json").read_text())
    ids = json.loads((work / "recsys_ids.json").read_text())
    fraud_bodies = json.loads((work / "fraud_bodies.json").read_text())
    with tempfile.TemporaryDirectory(prefix="shelfwise-capacity-") as tmp:
        shutil.copytree(work / "fraud-state", Path(tmp) / "fraud-state")
        env = {
            "SHELFWISE_HOME": str(Path(tmp) / "home"),
            "SHELFWISE_API_KEYS": json.dumps({KEY: ["storefront", "checkout", "planner", "admin"]}),
            "SHELFWISE_MODEL_DIRS": json.dumps({f: str(work / f) for f in ("search", "recsys", "fraud")}),
            "SHELFWISE_FAMILIES": json.dumps(["search", "recsys", "fraud"]),
            "SHELFWISE_FRAUD_STATE_DIR": str(Path(tmp) / "fraud-state"),
            "SHELFWISE_RATE_LIMIT_PER_MINUTE": "0",
            "SHELFWISE_LOG_LEVEL": "warning",
        }
        with mock.patch.dict(os.environ, env):
            from serving.app import create_app_from_env

            cold = create_app_from_env_with(create_app_from_env, {"SHELFWISE_SEARCH_CACHE_MB": "0"})
            cached = create_app_from_env_with(create_app_from_env, {})
            return asyncio.run(
                _time_routes(cold, cached, queries, ids, fraud_bodies, requests, _call, _scope)
            )


def create_app_from_env_with(factory: Any, extra: dict[str, str]) -> Any:
    with mock.patch.dict(os.environ, extra):
        return factory()


def _post(scope: Any, path: str, body: dict) -> tuple[dict, bytes]:
    raw = json.dumps(body).encode()
    return scope("POST", path, b"", raw), raw


async def _time_routes(cold, cached, queries, ids, fraud_bodies, requests, call, scope) -> dict[str, float]:
    users, items = ids["users"], ids["items"]
    test, log = queries["test"], queries["log"]
    n_search = min(requests // 3, len(test) // 4)  # every search query sent once per row
    search = {
        "search, plain": [{"query": q, "k": 10} for q in test[:n_search]],
        "search, filtered (category, price, stock)": [
            {"query": q, "k": 10, "filters": {"category": "Tools", "price_max": 200.0, "in_stock_only": True}}
            for q in test[n_search : 2 * n_search]
        ],
        "search, broad filter (in stock: ~90 %)": [
            {"query": q, "k": 10, "filters": {"in_stock_only": True}}
            for q in test[2 * n_search : 3 * n_search]
        ],
    }
    repeated = {
        "GET /health": [(scope("GET", "/health", b"", b""), b"")],
        "recs, known shopper": [_post(scope, "/v1/recommendations", {"user_id": u}) for u in users[:500]],
        "recs, anonymous session": [
            _post(scope, "/v1/recommendations", {"session_item_ids": items[i % 50 : i % 50 + 3]})
            for i in range(50)
        ],
        "similar items": [(scope("GET", f"/v1/items/{i}/similar", b"", b""), b"") for i in items[:100]],
    }
    best: dict[str, float] = {}
    async with cold.router.lifespan_context(cold):
        for name, prepared in repeated.items():
            pairs = prepared
            for s, b in pairs[:3]:
                status = await call(cold, s, b)
                if status != 200:
                    raise SystemExit(f"{name} answered {status}")
            best[name] = min([await _loop(cold, pairs, requests, call) for _ in range(ROUNDS)])
        fraud = [_post(scope, "/v1/fraud/score", body) for body in fraud_bodies[: requests * 2 + 300]]
        await _once(cold, fraud[:300], call)  # warm: lazily built predictors, first journal pages
        best["fraud, new transaction"] = await _once(cold, fraud[300:], call)
        await _once(cold, [_post(scope, "/v1/search", {"query": q}) for q in test[-20:]], call)  # warm
        for name, bodies in search.items():
            best[name] = await _once(cold, [_post(scope, "/v1/search", b) for b in bodies], call)
    async with cached.router.lifespan_context(cached):
        replay = [_post(scope, "/v1/search", {"query": q, "k": 10}) for q in log[: requests * 4]]
        best[f"search, query log replay ({len(replay):,} in file order, answer cache)"] = await _once(
            cached, replay, call
        )
        cache = getattr(cached.state, "search_cache", None)  # older code has none
        if cache is not None:
            stats = cache.stats()
            print(
                f"answer cache after the replay: hit rate {stats.hit_rate:.3f}, {stats.entries:,} answers, "
                f"{stats.bytes / 2**20:.1f} MB ({stats.bytes / max(stats.entries, 1):,.0f} bytes each)",
                file=sys.stderr,
            )
    return best


async def _loop(app, pairs, requests, call) -> float:
    start = time.perf_counter()
    for i in range(requests):
        s, b = pairs[i % len(pairs)]
        await call(app, s, b)
    return (time.perf_counter() - start) / requests * 1e6


async def _once(app, pairs, call) -> float:
    """Each request sent once (distinct ids or queries): µs per request over all of them."""
    start = time.perf_counter()
    for s, b in pairs:
        status = await call(app, s, b)
        if status != 200:
            raise SystemExit(f"answered {status}")
    return (time.perf_counter() - start) / len(pairs) * 1e6


def serve_measure(work: Path, duration: float) -> list[dict[str, Any]]:
    """The same routes over a real uvicorn loaded by wrk (``benchmarks/loadgen.py``), c=8."""
    from dataclasses import asdict

    from benchmarks.loadgen import SEQ, Scenario, measure_all, running_server

    queries = json.loads((work / "search_queries.json").read_text())["test"][:256]
    ids = json.loads((work / "recsys_ids.json").read_text())
    users, items = ids["users"], ids["items"]
    bodies = json.loads((work / "fraud_bodies.json").read_text())[:256]
    scenarios = [
        Scenario(
            "recs, known shopper", "POST", "/v1/recommendations", body=lambda i: {"user_id": users[i % 500]}
        ),
        Scenario(
            "recs, anonymous session",
            "POST",
            "/v1/recommendations",
            body=lambda i: {"session_item_ids": items[i % 50 : i % 50 + 3]},
        ),
        Scenario(
            "fraud, new transaction",
            "POST",
            "/v1/fraud/score",
            body=lambda i: bodies[i % 256] | {"transaction_id": f"wrk-{i}-{SEQ}"},
        ),
        Scenario(
            "search, 256 queries cycled", "POST", "/v1/search", body=lambda i: {"query": queries[i % 256]}
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="shelfwise-capacity-") as tmp:
        shutil.copytree(work / "fraud-state", Path(tmp) / "fraud-state")
        env = {"SHELFWISE_FRAUD_STATE_DIR": str(Path(tmp) / "fraud-state")}
        dirs = {f: str(work / f) for f in ("search", "recsys", "fraud")}
        with running_server(dirs, env=env, ready_timeout=600) as (url, key):
            rows = measure_all(url, key, scenarios, concurrency=8, duration=duration)
    return [asdict(r) for r in rows]


def snapshot(repo: Path, ref: str, into: Path) -> Path:
    """``git archive`` of ``ref`` with this checkout's benchmark scripts copied in."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for name in ("capacity.py", "route_cpu.py"):
        shutil.copyfile(ROOT / "benchmarks" / name, into / "benchmarks" / name)
    return into


def run_child(code: Path, work: Path, requests: int, mode: str = "--measure", **env_extra: str) -> Any:
    """Run this script's ``mode`` (``--measure`` or ``--serve-measure``) on ``code``; its JSON."""
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "OPENBLAS_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        **env_extra,
    }
    script = str(code / "benchmarks" / "capacity.py")
    cmd = [sys.executable, script, mode, "--work", str(work), "--requests", str(requests)]
    # The child's notes and warnings pass through on stderr.
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env, cwd=code)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="?", default=None)
    parser.add_argument("--baseline-ref", default="HEAD", help="the older code (a git ref of --repo)")
    parser.add_argument("--repo", default=str(ROOT), help="the git repository holding --baseline-ref")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "shelfwise-capacity"))
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--wrk", action="store_true", help="also load a real uvicorn with wrk (c=8)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per route under wrk")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = Path(args.work)
    if args.measure or args.serve_measure:
        sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)))
        result = measure(work, args.requests) if args.measure else serve_measure(work, args.duration)
        print(json.dumps(result))
        return
    work.mkdir(parents=True, exist_ok=True)
    build(work, args.datasets)
    with tempfile.TemporaryDirectory(prefix="shelfwise-baseline-") as tmp:
        old_code = snapshot(Path(args.repo), args.baseline_ref, Path(tmp) / "code")
        old = run_child(old_code, work, args.requests)
        new = run_child(ROOT, work, args.requests)
        print_in_process(old, new, args.baseline_ref)
        if args.wrk:
            served = {
                "old": run_child(old_code, work, args.requests, "--serve-measure"),
                "new, answer cache off": run_child(
                    ROOT, work, args.requests, "--serve-measure", SHELFWISE_SEARCH_CACHE_MB="0"
                ),
                "new": run_child(ROOT, work, args.requests, "--serve-measure"),
            }
            print_served(served, args.duration)


def print_in_process(old: dict[str, float], new: dict[str, float], ref: str) -> None:
    print(f"\n**server time per request in process (µs); old = {ref}, new = this checkout**\n")
    print("| route | old µs | new µs | new / old | /health ÷ route, old | new |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in new:
        before = old[name]
        print(
            f"| {name} | {before:,.0f} | {new[name]:,.0f} | {new[name] / before:.2f} | "
            f"{old['GET /health'] / before:.2f} | {new['GET /health'] / new[name]:.2f} |"
        )
    sys.stdout.flush()


def print_served(served: dict[str, list[dict[str, Any]]], duration: float) -> None:
    print(f"\n**over a real uvicorn, wrk, 8 connections, {duration:.0f} s per route**\n")
    print("| route | code | req/s | vs /health | p50 ms | p99 ms |\n|---|---|---:|---:|---:|---:|")
    names = [r["name"] for r in next(iter(served.values()))]
    for name in names:
        for label, rows in served.items():
            row = next(r for r in rows if r["name"] == name)
            health = next(r for r in rows if r["name"] == "health")["rps"]
            print(
                f"| {name} | {label} | {row['rps']:,.0f} | {row['rps'] / health:.2f} | "
                f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} |"
            )


if __name__ == "__main__":
    main()
