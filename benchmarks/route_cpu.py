"""The server's own time per request, in process: the ASGI app called directly, no sockets.

Usage::

    .venv/bin/python benchmarks/route_cpu.py [--requests 3000] [--repeats 8]

wrk over a real uvicorn is the benchmark of record (``benchmarks/forecast_serving.py``), but on
a noisy 2-core machine it cannot resolve differences of tens of microseconds. This script fits
the forecaster on the small demo store, builds the app as ``uvicorn`` would (with every
middleware), and times ``GET /health``, ``POST /v1/forecast`` (h=28) and
``GET /v1/inventory/{item}/reorder`` by calling the app with prepared ASGI messages. It prints the
best of ``--repeats`` rounds of ``--requests`` calls per route. The best is the least disturbed
by other work on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

KEY = "route-cpu-benchmark-key-0123456789"


def _scope(method: str, path: str, query: bytes, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"x-api-key", KEY.encode()), (b"content-type", b"application/json")]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


async def _call(app: Any, scope: dict[str, Any], body: bytes) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


async def _measure(app: Any, routes: dict[str, tuple[dict, bytes]], requests: int, repeats: int) -> dict:
    best = dict.fromkeys(routes, float("inf"))
    async with app.router.lifespan_context(app):
        for name, (scope, body) in routes.items():
            status = await _call(app, scope, body)
            if status != 200:
                raise SystemExit(f"{name} answered {status}")
        for _ in range(repeats):
            for name, (scope, body) in routes.items():
                start = time.perf_counter()
                for _ in range(requests):
                    await _call(app, scope, body)
                best[name] = min(best[name], (time.perf_counter() - start) / requests * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from forecasting.global_model import GlobalForecaster
    from training.data import load_store
    from training.demo import generate_store

    with tempfile.TemporaryDirectory(prefix="shelfwise-route-cpu-") as tmp:
        generate_store(Path(tmp) / "store", seed=42, scale="small")
        model = GlobalForecaster().fit(load_store(Path(tmp) / "store", only=["sales"]).sales)
        model_dir = model.save(Path(tmp) / "forecasting")
        env = {
            "SHELFWISE_HOME": str(Path(tmp) / "home"),
            "SHELFWISE_API_KEYS": json.dumps({KEY: ["planner"]}),
            "SHELFWISE_MODEL_DIRS": json.dumps({"forecasting": str(model_dir)}),
            "SHELFWISE_FAMILIES": json.dumps(["forecasting"]),
            "SHELFWISE_RATE_LIMIT_PER_MINUTE": "0",
            "SHELFWISE_LOG_LEVEL": "warning",
        }
        with mock.patch.dict(os.environ, env):  # restored afterwards (the script also runs in tests)
            from serving.app import create_app_from_env

            app = create_app_from_env()
            item, store = str(model.item_ids_[0]), str(model.store_ids_[0])
            forecast = json.dumps({"item_id": item, "store_id": store, "horizon": 28}).encode()
            reorder = f"store_id={store}&lead_time=7&service_level=0.95&on_hand=20".encode()
            routes = {
                "GET /health": (_scope("GET", "/health", b"", b""), b""),
                "POST /v1/forecast (h=28)": (_scope("POST", "/v1/forecast", b"", forecast), forecast),
                "GET /v1/inventory/{item}/reorder": (
                    _scope("GET", f"/v1/inventory/{item}/reorder", reorder, b""),
                    b"",
                ),
            }
            best = asyncio.run(_measure(app, routes, args.requests, args.repeats))
    health = best["GET /health"]
    print(f"\n**in process, best of {args.repeats} x {args.requests} requests**\n")
    print("| route | µs per request | /health / route |\n|---|---:|---:|")
    for name, micros in best.items():
        print(f"| {name} | {micros:.0f} | {health / micros:.2f} |")


if __name__ == "__main__":
    main()
