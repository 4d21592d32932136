"""Serving speed of forecasts and reorder advice: a real uvicorn, load from a second process.

Usage::

    .venv/bin/python benchmarks/forecast_serving.py [--scale small|medium] [--duration 5]

Generates the demo store (``--scale``), fits ``GlobalForecaster`` on its daily sales (timed),
saves it, starts uvicorn on it (``benchmarks/loadgen.py``) and measures, at concurrency 8 with
keep-alive, ``GET /health`` (the reference), ``POST /v1/forecast`` (horizon 28, rotating over
every series) and ``GET /v1/inventory/{item}/reorder`` (lead time 7, rotating).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from benchmarks.loadgen import Scenario, measure_all, print_table, running_server  # noqa: E402
from forecasting.global_model import GlobalForecaster  # noqa: E402
from training.data import load_store  # noqa: E402
from training.demo import generate_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="small", choices=["small", "medium"])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory(prefix="shelfwise-fc-bench-") as tmp:
        generate_store(Path(tmp) / "store", seed=42, scale=args.scale)
        sales = load_store(Path(tmp) / "store", only=["sales"]).sales
        start = time.perf_counter()
        model = GlobalForecaster().fit(sales)
        fit_s = time.perf_counter() - start
        model_dir = model.save(Path(tmp) / "forecasting")
        keys = list(zip(model.item_ids_.tolist(), model.store_ids_.tolist(), strict=True))
        print(
            f"demo store ({args.scale}): {len(keys):,} daily series, {len(sales):,} rows; "
            f"fit (train + calibrate + precompute {model.max_horizon} days): {fit_s:.1f} s\n"
        )
        scenarios = [
            Scenario(
                "POST /v1/forecast (h=28)",
                "POST",
                "/v1/forecast",
                body=lambda i: {
                    "item_id": keys[i % len(keys)][0],
                    "store_id": keys[i % len(keys)][1],
                    "horizon": 28,
                },
            ),
            Scenario(
                "GET /v1/inventory/{item}/reorder",
                "GET",
                lambda i: (
                    f"/v1/inventory/{keys[i % len(keys)][0]}/reorder?store_id={keys[i % len(keys)][1]}"
                    "&lead_time=7&service_level=0.95&on_hand=20"
                ),
            ),
        ]
        # Access logs at info level would put one JSON line per request on this terminal.
        with running_server({"forecasting": str(model_dir)}, env={"SHELFWISE_LOG_LEVEL": "warning"}) as (
            url,
            key,
        ):
            rows = measure_all(url, key, scenarios, concurrency=args.concurrency, duration=args.duration)
        print_table(
            rows, title=f"uvicorn, concurrency {args.concurrency}, {args.duration:.0f} s per endpoint"
        )


if __name__ == "__main__":
    main()
