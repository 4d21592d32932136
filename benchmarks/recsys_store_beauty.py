"""What a store gets: Amazon Beauty exported as a store folder, `shelfwise train` defaults, the API's call.

Usage::

    .venv/bin/python benchmarks/recsys_store_beauty.py [DATASETS_DIR] [--layout random|aligned ...]
        [--budget-minutes 2] [--users 5000] [--seed 0]

Nothing here is tuned for Beauty: each shopper's last item is held out, everything before it is
written as a store folder (one ``purchase`` event per step, one day per step; a catalog of the
item ids with filler columns: category "All", brand "unknown", price 0, in stock), the recsys
job trains on that folder exactly as ``shelfwise train recsys --data FOLDER`` does (its defaults,
its settings search with the given budget), the saved model is loaded as the server loads it,
and ``recommend`` is called as ``POST /v1/recommendations`` calls it (the request's default
filters, the shopper's history sent as ``exclude_item_ids``). Full ranking over all 12,101
items; NDCG@10 and HIT@10 over ``--users`` shoppers (a seeded sample), against the held-out item.

Layouts: ``random``: each shopper starts on a random day of one year; ``aligned``: every shopper's
sequence ends on the same day (their held-out item would come the day after), so every shopper
is active in the last weeks.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from training.offline import use_offline_defaults  # noqa: E402

use_offline_defaults()

from models.loader import load_model  # noqa: E402
from recsys.metrics import evaluate_rankings  # noqa: E402
from recsys.popularity import PopularityRecommender  # noqa: E402
from recsys.types import ItemFilter  # noqa: E402
from training.data import load_store  # noqa: E402
from training.pipeline import DEFAULT_SEED, fit_family  # noqa: E402
from training.real_data import dataset_path  # noqa: E402

DATASET = "amazon-beauty-seq"
ICLREC_NDCG10 = 0.0403
HANDPICKED_NDCG10 = 0.0547  # benchmarks/recsys_beauty.py, settings chosen on Beauty's validation split
START = pd.Timestamp("2024-01-01")
# The route's request defaults (serving.schemas.recommendations.ItemFilters): in stock, no other filter.
REQUEST_FILTER = ItemFilter()


def export_store(interactions: pd.DataFrame, folder: Path, *, layout: str, seed: int) -> dict[str, str]:
    """Write Beauty minus each shopper's last item as a store folder; return user -> held-out item."""
    frame = interactions.sort_values(["user_id", "seq_position"], kind="stable")
    last = frame.groupby("user_id").tail(1)
    train = frame.drop(index=last.index)
    n_steps = frame.groupby("user_id")["seq_position"].transform("max")
    if layout == "random":
        users = frame["user_id"].unique()
        start_day = pd.Series(np.random.default_rng(seed).integers(0, 365, len(users)), index=users)
        day = train["user_id"].map(start_day) + train["seq_position"]
    elif layout == "aligned":  # the held-out item lands on day 400 for everyone
        day = 400 - (n_steps.loc[train.index] - train["seq_position"])
    else:
        raise ValueError(f"layout must be random or aligned, got {layout!r}")
    events = pd.DataFrame(
        {
            "user_id": "u" + train["user_id"].astype(str),
            "item_id": "i" + train["item_id"].astype(str),
            "event_type": "purchase",
            "timestamp": START + pd.to_timedelta(day.to_numpy(), unit="D"),
        }
    )
    items = np.sort(frame["item_id"].unique())
    catalog = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in items],
            "title": [f"item {i}" for i in items],
            "category": "All",
            "brand": "unknown",
            "price": 0.0,
            "in_stock": True,
            "created_at": START,
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    events.to_parquet(folder / "events.parquet", index=False)
    catalog.to_parquet(folder / "catalog.parquet", index=False)
    return dict(zip("u" + last["user_id"].astype(str), "i" + last["item_id"].astype(str), strict=True))


def score(model, events: pd.DataFrame, targets: dict[str, str], users: list[str]) -> dict[str, float]:
    """NDCG@10 / HIT@10 of ``recommend`` called as the recommendations route calls it."""
    history = events.groupby("user_id")["item_id"].agg(lambda s: list(dict.fromkeys(s)))
    ranked = {}
    for user in users:
        seen = history.get(user, [])[-500:]  # the request's exclude_item_ids cap
        recs = model.recommend(
            user_id=user,
            history_item_ids=[],
            session_item_ids=[],
            k=10,
            filters=REQUEST_FILTER,
            exclude_item_ids=seen,
        )
        ranked[user] = recs.item_ids
    values = evaluate_rankings(ranked, {u: {targets[u]} for u in users}, k=10)
    return {"ndcg@10": values["ndcg_at_10"], "hit@10": values["hit_rate_at_10"]}


def run(
    folder_root: Path,
    interactions: pd.DataFrame,
    *,
    layout: str,
    budget_minutes: float,
    n_users: int,
    seed: int,
) -> dict[str, float]:
    store_dir = folder_root / f"store-{layout}"
    targets = export_store(interactions, store_dir, layout=layout, seed=seed)
    store = load_store(store_dir, only=["events", "catalog"])
    model_dir = folder_root / f"model-{layout}-{budget_minutes:g}"
    started = time.perf_counter()
    fitted = fit_family("recsys", store, model_dir, seed=DEFAULT_SEED, budget_s=budget_minutes * 60)
    seconds = time.perf_counter() - started
    model = load_model(model_dir, family="recsys")
    rng = np.random.default_rng(seed)
    users = sorted(rng.choice(sorted(targets), size=min(n_users, len(targets)), replace=False).tolist())
    events = store.events
    assert events is not None and store.catalog is not None
    row = score(model, events, targets, users)
    popular = PopularityRecommender().fit(events, store.catalog)
    pop = score(popular, events, targets, users)
    return {
        **row,
        "popularity ndcg@10": pop["ndcg@10"],
        "job holdout ndcg@10": fitted.metrics.get("ndcg_at_10", float("nan")),
        "job eval cases": fitted.metrics.get("n_eval_cases", float("nan")),
        "fit seconds": seconds,
        "chosen": fitted.tuning,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="?", default=None)
    parser.add_argument("--layout", nargs="+", default=["random", "aligned"])
    parser.add_argument("--budget-minutes", type=float, nargs="+", default=[2.0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    interactions = pd.read_parquet(dataset_path(DATASET, args.datasets) / "interactions.parquet")
    print(f"published ICLRec NDCG@10 {ICLREC_NDCG10}; hand-picked pipeline {HANDPICKED_NDCG10}")
    print(
        "| layout | budget (min) | NDCG@10 | HIT@10 | popularity NDCG@10 | job holdout NDCG@10 | "
        "job eval cases | fit s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="shelfwise-beauty-store-") as tmp:
        for layout in args.layout:
            for budget in args.budget_minutes:
                r = run(
                    Path(tmp),
                    interactions,
                    layout=layout,
                    budget_minutes=budget,
                    n_users=args.users,
                    seed=args.seed,
                )
                print(
                    f"| {layout} | {budget:g} | {r['ndcg@10']:.4f} | {r['hit@10']:.4f} | "
                    f"{r['popularity ndcg@10']:.4f} | {r['job holdout ndcg@10']:.4f} | "
                    f"{r['job eval cases']:.0f} | {r['fit seconds']:.0f} |",
                    flush=True,
                )
                if r["chosen"]:
                    print(f"|  | settings search: {r['chosen']} | | | | | | |", flush=True)


if __name__ == "__main__":
    main()
