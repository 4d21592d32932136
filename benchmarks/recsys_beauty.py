"""The recommendation pipeline vs baselines on Amazon Beauty (5-core), the published protocol.

Usage::

    .venv/bin/python benchmarks/recsys_beauty.py [DATASETS_DIR] [--split test|valid] [--refit]
        [--max-users N] [--seed 0]

``DATASETS_DIR`` defaults to ``$SHELFWISE_DATASETS``, then ``../shared/data`` next to the repo; it
must hold ``amazon-beauty-seq/interactions.parquet`` (read in place, never copied).

Protocol (as in S3-Rec / CL4SRec / ICLRec ``src/trainers.py``): leave-one-out. Each user's last
item is the test target, the second-to-last the validation target. Models are fit on everything
before the target; ranking is full, over all 12,101 items, with the user's earlier items masked.
HIT@10, NDCG@10, HIT@20, NDCG@20 averaged over all users. ``--split valid`` scores the
validation target instead (fit on everything before it): the split used for tuning.

Adaptations: the data has no timestamps, metadata or orders, only the order of each user's items,
so ``seq_position`` is the time (one minute per step, so time decay is flat), every interaction is
a ``purchase``, the content source has nothing to embed and co-purchase has no orders (both rows
stay empty), and the re-ranker's later label window is each user's last training item
(``rerank_split="last"``): the candidate models it learns from never saw that item.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from threadpoolctl import threadpool_limits  # noqa: E402

from recsys.hybrid import HybridRecommender  # noqa: E402
from recsys.popularity import PopularityRecommender  # noqa: E402
from recsys.sources import CANDIDATE_SOURCES  # noqa: E402
from recsys.types import ItemFilter  # noqa: E402
from training.real_data import dataset_path  # noqa: E402

DATASET = "amazon-beauty-seq"
ICLREC = {"HIT@10": 0.0744, "NDCG@10": 0.0403, "HIT@20": 0.1058, "NDCG@20": 0.0483}
CUTS = (10, 20)
EVERYTHING = ItemFilter(in_stock_only=False)
# Settings chosen on the validation target (``--split valid``), then used unchanged for test.
PIPELINE = {
    "factors": 64,
    "regularization": 0.05,
    "alpha": 2.0,
    "iterations": 15,
    "covisit_window": 3,
    "covisit_backward": 0.5,
    "max_recent": 20,
    "recent_half_life": 3.0,
    "per_source": 50,
    "use_content": False,
    "rerank_split": "last",
    "rerank_max_users": 6000,
    "rerank_rounds": 150,
    "label_event_types": None,
    "exclude_seen": True,
    "half_life_days": 1e6,
}


def load(folder: str | None, *, max_users: int | None, seed: int) -> pd.DataFrame:
    """Interactions sorted by user and position; ``max_users`` keeps a seeded sample of users."""
    frame = pd.read_parquet(dataset_path(DATASET, folder) / "interactions.parquet")
    if max_users is not None and max_users < frame["user_id"].nunique():
        users = np.random.default_rng(seed).choice(frame["user_id"].unique(), max_users, replace=False)
        frame = frame[frame["user_id"].isin(users)]
    return frame.sort_values(["user_id", "seq_position"], kind="stable").reset_index(drop=True)


def split(
    frame: pd.DataFrame, target: str, *, refit: bool
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """``(fit rows, input rows, held-out item per user)``.

    ``valid``: fit and input on everything before the second-to-last item. ``test``: the input is
    everything before the last item; models are fit on the same rows as for validation (as ICLRec
    trains on ``items[:-2]``) and the validation item is folded in at query time, unless ``refit``
    (then they are fit on the whole input).
    """
    from_end = frame.groupby("user_id").cumcount(ascending=False)
    drop = 0 if target == "test" else 1
    inputs = frame[from_end > drop]
    fit = inputs if refit or target == "valid" else frame[from_end > 1]
    held = frame[from_end == drop]
    truth = dict(zip(held["user_id"].astype(str), held["item_id"].astype(str), strict=True))
    return fit, inputs, truth


def as_events(train: pd.DataFrame, all_items: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Events/catalog frames in the Shelfwise data contract, and the catalog's item ids (all items,
    also those seen only as a held-out target: the ranking is over the full catalog)."""
    items = sorted(np.unique(all_items).tolist())
    catalog = pd.DataFrame(
        {
            "item_id": [str(i) for i in items],
            "title": [f"item {i}" for i in items],
            "category": "",
            "price": np.nan,
            "in_stock": True,
        }
    )
    events = pd.DataFrame(
        {
            "user_id": train["user_id"].astype(str).to_numpy(),
            "item_id": train["item_id"].astype(str).to_numpy(),
            "event_type": "purchase",
            "timestamp": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(train["seq_position"].to_numpy(), unit="m"),
        }
    )
    return events, catalog, [str(i) for i in items]


def score(ranked: dict[str, list[str]], truth: dict[str, str]) -> dict[str, float]:
    """HIT@k and NDCG@k for one held-out item per user (a user without a list scores 0)."""
    ranks = []
    for user, target in truth.items():
        found = ranked.get(user, [])[: max(CUTS)]
        ranks.append(found.index(target) if target in found else np.inf)
    ranks = np.asarray(ranks, dtype=float)
    out = {}
    for k in CUTS:
        hit = ranks < k
        out[f"HIT@{k}"] = float(hit.mean())
        out[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(np.minimum(ranks, k) + 2), 0.0).mean())
    return out


def _matrix(events: pd.DataFrame, items: list[str], users: list[str]) -> sp.csr_matrix:
    user_codes = {u: i for i, u in enumerate(users)}
    item_codes = {it: i for i, it in enumerate(items)}
    rows = events["user_id"].map(user_codes).to_numpy()
    cols = events["item_id"].map(item_codes).to_numpy()
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), len(items)))
    matrix.data[:] = 1.0
    return matrix


def implicit_rows(fit: pd.DataFrame, inputs: pd.DataFrame, items: list[str], users: list[str]):
    """Plain implicit models with library defaults, fit on ``fit``, queried with ``inputs`` masked."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    matrix, queries = _matrix(fit, items, users), _matrix(inputs, items, users)
    fresh = (queries != matrix).nnz > 0  # inputs newer than the fit: ALS folds them in
    out, seconds = {}, {}
    with threadpool_limits(1, "blas"):
        for name, model in (
            ("implicit ALS (library defaults)", AlternatingLeastSquares(random_state=0)),
            ("item-kNN cosine (implicit, K=20)", CosineRecommender()),
            ("item-kNN BM25 (implicit, K=20)", BM25Recommender()),
        ):
            started = time.perf_counter()
            model.fit(matrix, show_progress=False)
            fold_in = {"recalculate_user": True} if fresh and hasattr(model, "item_factors") else {}
            ids, _ = model.recommend(
                np.arange(len(users)), queries, N=max(CUTS), filter_already_liked_items=True, **fold_in
            )
            seconds[name] = time.perf_counter() - started
            out[name] = {u: [items[j] for j in row if j >= 0] for u, row in zip(users, ids, strict=True)}
    return out, seconds


def run(
    folder: str | None, *, target: str, max_users: int | None, seed: int, refit: bool = False
) -> tuple[pd.DataFrame, dict]:
    """Every row of the table on one split; returns it and the seconds per stage."""
    frame = load(folder, max_users=max_users, seed=seed)
    fit, inputs, truth = split(frame, target, refit=refit)
    events, catalog, items = as_events(fit, frame["item_id"].to_numpy())
    input_events = as_events(inputs, frame["item_id"].to_numpy())[0]
    newer = inputs.loc[inputs.index.difference(fit.index)].sort_values("seq_position", ascending=False)
    sessions = (
        newer.groupby(newer["user_id"].astype(str))["item_id"].agg(lambda s: [str(i) for i in s]).to_dict()
    )
    users = sorted(truth)
    rankings, seconds = {}, {}
    started = time.perf_counter()
    popular = PopularityRecommender().fit(events, catalog)
    history = input_events.groupby("user_id")["item_id"].agg(list).to_dict()
    rankings["popularity (baseline)"] = {
        u: popular.recommend(history_item_ids=history.get(u, []), k=max(CUTS), filters=EVERYTHING).item_ids
        for u in users
    }
    seconds["popularity (baseline)"] = time.perf_counter() - started
    plain, plain_seconds = implicit_rows(events, input_events, items, users)
    rankings.update(plain)
    seconds.update(plain_seconds)
    started = time.perf_counter()
    model = HybridRecommender(**PIPELINE, random_state=seed).fit(events, catalog)
    seconds["pipeline fit"] = time.perf_counter() - started
    seconds.update({f"pipeline fit: {k}": v for k, v in model.timings_.items()})
    started = time.perf_counter()
    stages = model.stage_rankings(users, filters=EVERYTHING, k=max(CUTS), sessions=sessions)
    seconds["pipeline predict (all stages)"] = time.perf_counter() - started
    for name in CANDIDATE_SOURCES:
        rankings[f"source alone: {name}"] = stages[name]
    rankings[
        "full pipeline (candidates + LambdaRank)"
        if model.booster_ is not None
        else f"full pipeline (re-ranker rejected, {model.order_source_} order)"
    ] = stages["reranked"]
    table = pd.DataFrame({name: score(ranked, truth) for name, ranked in rankings.items()}).T
    table.loc["ICLRec (published)"] = ICLREC
    recall = np.mean([truth[u] in set(stages["candidates"].get(u, ())) for u in users])
    info = {
        "seconds": seconds,
        "report": model.report_,
        "candidate_recall": float(recall),
        "users": len(users),
        "items": len(items),
        "interactions": len(frame),
    }
    return table, info


def markdown(frame: pd.DataFrame, digits: int = 4) -> str:
    """A pipe table (no ``tabulate`` dependency): the index first, numbers rounded."""
    head = ["", *map(str, frame.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in frame.iterrows():
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row.tolist()]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-users", type=int, default=None)
    parser.add_argument("--split", choices=("test", "valid"), default="test")
    parser.add_argument("--refit", action="store_true", help="test: fit on everything before the last item")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", module="implicit")  # CSR-conversion notices, not results
    table, info = run(
        args.folder, target=args.split, max_users=args.max_users, seed=args.seed, refit=args.refit
    )
    fitted_on = "everything before the target"
    if args.split == "test" and not args.refit:
        fitted_on = "items[:-2], the validation item folded in at query time (as ICLRec)"
    print(
        f"## Amazon Beauty, leave-one-out ({args.split} target), full ranking over {info['items']} items, "
        f"{info['users']} users; models fit on {fitted_on}\n"
    )
    print(markdown(table))
    print(f"\nMerged-candidate recall of the held-out item: {info['candidate_recall']:.4f}")
    print("\nRe-ranker validation (label window = last training item, 25% of its users held out):")
    print(markdown(pd.Series(info["report"], dtype=float).to_frame("value")))
    print("\n## Seconds per stage\n")
    print(markdown(pd.Series(info["seconds"], dtype=float).to_frame("seconds"), digits=2))


if __name__ == "__main__":
    main()
