"""The forecasting training job on the demo store's daily sales: backtest table and training time.

Usage::

    .venv/bin/python benchmarks/forecast_demo.py [--scale small|medium] [--seed 42]

Generates the demo store, then runs ``training.jobs.forecasting.train`` as ``shelfwise train
forecasting`` does: per-store blends chosen on validation origins, then a rolling-origin backtest
on the later holdout origins (28 days each, the model refit at each) with seasonal naive and
AutoETS on the same cells, then a refit on all sales. ``--budget-minutes`` gives the settings
search's budget (default 0 here; ``shelfwise train`` uses 2). Prints one markdown table and the
wall-clock time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from training.data import load_store  # noqa: E402
from training.demo import generate_store  # noqa: E402
from training.jobs import forecasting as job  # noqa: E402

ROWS = {"Shelfwise lgbm_global": "", "seasonal naive (7 d)": "baseline_snaive_", "AutoETS": "baseline_ets_"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="small", choices=["small", "medium"])
    parser.add_argument("--seed", type=int, default=42, help="demo store seed")
    parser.add_argument("--budget-minutes", type=float, default=0.0, help="settings search budget")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory(prefix="shelfwise-fc-demo-") as tmp:
        generate_store(Path(tmp) / "store", seed=args.seed, scale=args.scale)
        store = load_store(Path(tmp) / "store", only=["sales"])
        start, cpu = time.perf_counter(), time.process_time()
        result = job.train(store, seed=0, budget_s=args.budget_minutes * 60)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    m, p = result.metrics, result.params
    print(f"\nDemo store ({args.scale}, seed {args.seed}): {p['series']:,} daily series")
    print(f"validation cutoffs {p['validation_cutoffs']}; holdout cutoffs {p['backtest_cutoffs']}")
    print(f"blends per store: {p['blends']}")
    if result.tuning is not None:
        print(f"settings search: {result.tuning.summary()}")
    print(f"horizon {p['horizon']} days; job: {seconds:.1f} s wall, {cpu:.1f} s CPU\n")
    has_wmae = "wmae" in m
    head = "| model | WAPE | MAE | RMSE | MASE |" + (" WMAE |" if has_wmae else "") + " 80 % coverage |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, prefix in ROWS.items():
        cells = [m[prefix + k] for k in ("wape", "mae", "rmse", "mase")]
        if has_wmae:
            cells.append(m[prefix + "wmae"])
        cells.append(m[prefix + "coverage_80"])
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    share = m.get("series_share_beating_baseline_snaive", float("nan"))
    median = m["series_mase_median"]
    print(f"\nseries where the model beats seasonal naive (MAE): {share:.0%}; median MASE {median:.3f}")


if __name__ == "__main__":
    main()
