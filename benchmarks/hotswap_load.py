"""Hot swap under load: champions move while a mixed workload runs against a real uvicorn server.

Registers each family twice (v1 and v2 of the same trained model, so every answer is comparable)
in a throwaway SQLite registry, starts ``uvicorn`` on it with ``SHELFWISE_RELOAD_INTERVAL_S``,
and for ``--duration`` seconds sends a mixed workload (recommendations, search, fraud scoring,
forecasts; concurrency 8, keep-alive) while this process moves the ``champion`` of recsys, search
and fraud to the other version every ``--swap-every`` seconds. It counts failed requests and how
long each family took to answer with the newly promoted version::

    .venv/bin/python benchmarks/hotswap_load.py --duration 60 --interval 2
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.fuzz_api import train_demo_models  # noqa: E402
from benchmarks.loadgen import running_server  # noqa: E402

SWAPPED = ("recsys", "search", "fraud")
ENDPOINT_FAMILY = {"recs": "recsys", "search": "search", "fraud": "fraud", "forecast": "forecasting"}


@dataclass
class Observed:
    """Responses seen by the load: (monotonic time, family, version) plus failures and latencies."""

    versions: list[tuple[float, str, str]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    latency_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _requests(sample: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(name, method, path, body) of the mixed workload, from the demo store's own ids."""
    return [
        ("recs", "POST", "/v1/recommendations", {"user_id": "u-load", "k": 10}),
        ("search", "POST", "/v1/search", {"query": sample["word"], "k": 10}),
        (
            "fraud",
            "POST",
            "/v1/fraud/score",
            {
                "transaction_id": "load",
                "timestamp": "2026-10-30T12:00:00",
                "customer_id": "c1",
                "amount": 42.0,
            },
        ),
        (
            "forecast",
            "POST",
            "/v1/forecast",
            {"item_id": sample["item"], "store_id": sample["store"], "horizon": 7},
        ),
    ]


async def _drive(url: str, key: str, sample: dict[str, Any], seconds: float, seen: Observed) -> None:
    workload = _requests(sample)
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)

    async def worker(n: int) -> None:
        i = n
        while time.monotonic() < stop:
            name, method, path, body = workload[i % len(workload)]
            if name == "fraud":
                body = {**body, "transaction_id": f"load-{i}"}
            i += 8
            t0 = time.monotonic()
            try:
                r = await client.request(method, path, json=body, headers={"X-API-Key": key})
            except httpx.HTTPError as exc:
                seen.statuses[0] += 1
                seen.failures.append(f"{name}: {type(exc).__name__}")
                continue
            seen.latency_ms.append((time.monotonic() - t0) * 1000)
            seen.statuses[r.status_code] += 1
            if r.status_code >= 400:
                seen.failures.append(f"{name}: {r.status_code} {r.text[:200]}")
                continue
            seen.versions.append((t0, ENDPOINT_FAMILY[name], str(r.json()["model_version"])))

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(n) for n in range(8)))


def _promoter(
    settings: Any, versions: dict[str, tuple[str, str]], every: float, seconds: float, log: list
) -> threading.Thread:
    from models import registry

    def run() -> None:
        started = time.monotonic()
        stop = started + seconds - every / 2
        current = {f: versions[f][1] for f in SWAPPED}
        for n in itertools.count(1):
            if started + n * every > stop:
                return
            time.sleep(max(0.0, started + n * every - time.monotonic()))
            for family in SWAPPED:
                old, new = versions[family]
                target = old if current[family] == new else new
                registry.promote(settings, family, target)
                current[family] = target
                log.append((time.monotonic(), family, target))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _lags(seen: Observed, promotions: list[tuple[float, str, str]]) -> dict[str, list[float]]:
    """Seconds from each promotion to the first response of that family with the new version."""
    lags: dict[str, list[float]] = {f: [] for f in SWAPPED}
    for at, family, target in promotions:
        first = next((t for t, f, v in seen.versions if f == family and t >= at and v == target), None)
        if first is not None:
            lags[family].append(first - at)
    return lags


def _sample(store_dir: Path) -> dict[str, Any]:
    from training.data import load_store

    store = load_store(store_dir)
    assert store.sales is not None and store.catalog is not None, f"{store_dir} lacks sales or a catalog"
    row = store.sales.iloc[0]
    word = str(store.catalog["title"].iloc[0]).split()[-1]
    return {"word": word, "item": str(row["item_id"]), "store": str(row["store_id"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=2.0, help="SHELFWISE_RELOAD_INTERVAL_S")
    parser.add_argument("--swap-every", type=float, default=10.0)
    parser.add_argument("--work", help="keep the demo store and trained models here and reuse them")
    args = parser.parse_args(argv)
    from models import registry
    from models.settings import Settings

    with tempfile.TemporaryDirectory(prefix="shelfwise-hotswap-") as tmp:
        work = Path(args.work or tmp)
        families = ("recsys", "search", "fraud", "forecasting")
        if all((work / f / "meta.json").is_file() for f in families):
            dirs = {f: str(work / f) for f in families}
        else:
            dirs, errors = train_demo_models(work)
            if errors:
                print(f"families not trained: {errors}", file=sys.stderr)
                return 2
        home = Path(tmp) / "home"
        settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
        versions: dict[str, tuple[str, str]] = {}
        for family, model_dir in dirs.items():
            regs = [
                registry.log_and_register(
                    settings,
                    family=family,
                    model_dir=model_dir,
                    params={},
                    metrics={"m": 1.0},
                    primary_metric="m",
                    greater_is_better=True,
                    force_promote=True,
                )
                for _ in range(2)
            ]
            versions[family] = (regs[0].version, regs[1].version)
        env = {
            "SHELFWISE_HOME": str(home),
            "SHELFWISE_RELOAD_INTERVAL_S": str(args.interval),
            "SHELFWISE_RATE_LIMIT_PER_MINUTE": "0",
            "SHELFWISE_LOG_LEVEL": "warning",
            "OPENBLAS_NUM_THREADS": "1",
        }
        seen = Observed()
        promotions: list[tuple[float, str, str]] = []
        with running_server(env=env) as (url, key):
            thread = _promoter(settings, versions, args.swap_every, args.duration, promotions)
            started = time.monotonic()
            asyncio.run(_drive(url, key, _sample(work / "store"), args.duration, seen))
            elapsed = time.monotonic() - started
            thread.join()
    _report(seen, promotions, _lags(seen, promotions), args, elapsed)
    return 1 if seen.failures else 0


def _report(
    seen: Observed, promotions: list, lags: dict[str, list[float]], args: Any, elapsed: float
) -> None:
    total = sum(seen.statuses.values())
    ms = np.asarray(seen.latency_ms)
    print(
        f"**Hot swap under load: {total} requests in {elapsed:.0f}s ({total / elapsed:.0f} req/s, "
        f"concurrency 8), {len(seen.failures)} failed; {len(promotions)} promotions "
        f"(recsys, search, fraud every {args.swap_every:.0f}s); reload interval {args.interval:g}s**\n"
    )
    print(f"latency ms: p50 {np.percentile(ms, 50):.1f}, p99 {np.percentile(ms, 99):.1f}, max {ms.max():.1f}")
    print(f"statuses: {dict(seen.statuses)}\n")
    print("| family | promotions | seen in responses | max lag s | median lag s |")
    print("|---|---:|---:|---:|---:|")
    for family in SWAPPED:
        n = sum(1 for _, f, _ in promotions if f == family)
        got = lags[family]
        worst = f"{max(got):.2f}" if got else "-"
        mid = f"{float(np.median(got)):.2f}" if got else "-"
        print(f"| {family} | {n} | {len(got)} | {worst} | {mid} |")
    for failure in seen.failures[:10]:
        print(f"- {failure}")


if __name__ == "__main__":
    sys.exit(main())
