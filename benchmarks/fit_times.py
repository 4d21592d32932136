"""Wall time of the training jobs on the medium demo store, with the holdout metric, run twice.

Usage::

    .venv/bin/python benchmarks/fit_times.py [--families recsys search forecasting] [--store DIR]

Generates the medium demo store (20,000 items, 1.39 M events, 1,500 sales series; or reads
``--store``), then runs each family's training job (``training.jobs.<family>.train``, the code
``shelfwise train`` runs) with ``budget_s=0`` (the defaults, no settings search) twice in this
process: the first run is what a machine that never trained pays, the second a retrain on the
same catalog (the catalog vectors come from ``embedding.vector_store``). Prints each run's total
seconds, the stages the job logs (``train_seconds_*``) and its primary holdout metric.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PRIMARY = {
    "recsys": "ndcg_at_10",
    "search": "ndcg_at_10",
    "forecasting": "wape",
    "fraud": "average_precision",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=["recsys", "search", "forecasting"])
    parser.add_argument(
        "--store", default=None, help="a store folder (default: generate the medium demo store)"
    )
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from training.data import load_store
    from training.demo import generate_store

    store_dir = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="shelfwise-fit-")) / "store"
    if not args.store:
        generate_store(store_dir, seed=42, scale="medium")
    print("| family | run | seconds | primary metric | stages (s) |\n|---|---:|---:|---:|---|")
    for family in args.families:
        job = importlib.import_module(f"training.jobs.{family}")
        store = load_store(store_dir)
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            result = job.train(store, seed=0, budget_s=0)
            seconds = time.perf_counter() - started
            stages = {
                k.removeprefix("train_seconds_"): round(float(v), 1)
                for k, v in result.metrics.items()
                if k.startswith("train_seconds_")
            }
            metric = result.metrics.get(PRIMARY[family], float("nan"))
            print(f"| {family} | {run} | {seconds:.1f} | {metric:.4f} | {stages} |", flush=True)


if __name__ == "__main__":
    main()
