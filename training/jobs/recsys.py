"""Training job of the recommendations family: time split, fit, holdout ranking metrics, refit.

The model is ``HybridRecommender`` (multi-source candidates + LambdaRank re-ranker). Evaluation
replays what serving does for every holdout user: ``recommend`` for the user (their history before
the split is in the model), top 10 compared with what they bought or carted after the split.
Per-stage rows show where quality comes from: ``stage_<source>_*`` (each candidate source alone),
``stage_candidates_recall`` (share of the relevant items among the merged candidates),
``stage_reranked_*`` (the re-ranked list before business rules) and ``rerank_val_*`` (the
re-ranker's own validation on the label window, which decides whether it is used). The popularity
baseline (``baseline_popularity_*``, told the user's purchases and last views like before) and a
seeded random ranking (``baseline_random_*``) are scored the same way.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.errors import DataValidationError
from models.frames import require_columns
from recsys.embeddings import encode_texts, item_texts
from recsys.hybrid import HybridRecommender
from recsys.hybrid_fit import catalog_extras
from recsys.interactions import to_utc_naive
from recsys.metrics import evaluate_rankings
from recsys.popularity import CATALOG_COLUMNS, EVENT_COLUMNS, PopularityRecommender
from recsys.types import ItemFilter
from training.jobs.base import TrainResult
from training.store import StoreData

K = 10
PRIMARY_METRIC = f"ndcg_at_{K}"
HOLDOUT_DAYS = 7
# With less history than this, a fixed 7-day holdout would starve training; use a fraction instead.
MIN_DAYS_FOR_FIXED_HOLDOUT = 28
HOLDOUT_FRACTION = 0.2
MAX_EVAL_USERS = 5000  # a seeded sample beyond this: metrics are stable and the job stays fast
SESSION_ITEMS = 5
POSITIVE_EVENTS = ("purchase", "add_to_cart")
BASELINE_METRICS = (f"ndcg_at_{K}", f"recall_at_{K}", f"hit_rate_at_{K}")
# Small stores get a lighter ALS: quality is the same there and the job stays well under 20 s.
SMALL_STORE_EVENTS = 50_000
# Offline, stock flags are today's snapshot, not the state at purchase time: ranking quality is
# measured over the whole catalog so items sold out since do not count as misses.
EVAL_FILTER = ItemFilter(in_stock_only=False)


@dataclass(frozen=True)
class EvalCase:
    """One holdout user: what the model is told, and what they went on to buy or cart."""

    history: list[str]
    session: list[str]
    relevant: set[str]


def train(store: StoreData, *, seed: int) -> TrainResult:
    """Fit ``HybridRecommender`` on a time split, evaluate it per stage on the holdout, refit on all.

    Args:
        store: needs ``events`` and ``catalog``.
        seed: seeds the models, the evaluated-user sample and the random baseline.

    Returns:
        The model refit on all events and holdout metrics: ``ndcg_at_10`` (primary, greater is
        better), ``recall_at_10``, ``hit_rate_at_10``, ``map_at_10``, ``mrr_at_10``, ``coverage``,
        the per-stage rows, ``baseline_popularity_*``, ``baseline_random_*`` and
        ``train_seconds_*`` per stage.

    Raises:
        DataValidationError: a frame is missing or malformed, the history is too short to split,
            or no user bought or carted a catalog item in the holdout.
    """
    events, catalog = _inputs(store)
    split = split_time(events["timestamp"])
    before = events["timestamp"] < split
    train_events, holdout = events[before], events[~before]
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    embeddings = embed_catalog(catalog)
    seconds["embeddings"] = time.perf_counter() - started
    params = model_params(len(events), seed)
    started = time.perf_counter()
    model = HybridRecommender(**params).fit(train_events, catalog, embeddings=embeddings)
    seconds["fit_split"] = time.perf_counter() - started
    seconds.update({f"fit_{name}": value for name, value in model.timings_.items()})
    catalog_ids = set(model.popular_.item_ids_.tolist())
    cases = eval_cases(train_events, holdout, catalog_ids, seed=seed)
    truth = {user: c.relevant for user, c in cases.items()}
    n_items = len(model.popular_.item_ids_)
    started = time.perf_counter()
    predicted = {
        u: r.item_ids for u, r in model.recommend_batch(list(cases), k=K, filters=EVAL_FILTER).items()
    }
    seconds["predict_holdout"] = time.perf_counter() - started
    metrics = evaluate_rankings(predicted, truth, k=K, catalog_size=n_items)
    metrics.update(_stage_metrics(model, truth))
    metrics.update({f"rerank_val_{name}": float(v) for name, v in model.report_.items()})
    metrics.update(
        _baseline_metrics(train_events, catalog, cases, truth, model.popular_.item_ids_, seed=seed)
    )
    started = time.perf_counter()
    final = HybridRecommender(**params).fit(events, catalog, embeddings=embeddings)
    seconds["fit_final"] = time.perf_counter() - started
    metrics.update({f"train_seconds_{name}": round(value, 3) for name, value in seconds.items()})
    run_params = {
        "split_date": split.isoformat(),
        "n_train_events": int(before.sum()),
        "n_holdout_events": int((~before).sum()),
        "n_eval_users": len(cases),
        "n_catalog_items": n_items,
        "reranker_used": final.booster_ is not None,
        "order_source": final.order_source_,
    }
    return TrainResult(final, metrics, PRIMARY_METRIC, greater_is_better=True, params=run_params)


def model_params(n_events: int, seed: int) -> dict:
    """Hyper-parameters for a store of this size (fewer ALS iterations/factors on a small store)."""
    if n_events < SMALL_STORE_EVENTS:
        return {"factors": 32, "iterations": 8, "rerank_rounds": 100, "random_state": seed}
    return {"random_state": seed}


def embed_catalog(catalog: pd.DataFrame) -> np.ndarray:
    """MiniLM vectors of the catalog texts, one per distinct item id (the model's item order).

    Kept per process for the last few catalogs (keyed by a hash of the texts): a notebook or a
    session that trains several runs on one store embeds it once.
    """
    texts = item_texts(catalog_extras(catalog))
    key = hashlib.sha256("\x1f".join(texts).encode()).hexdigest()
    if key not in _EMBEDDINGS:
        while len(_EMBEDDINGS) >= 4:
            _EMBEDDINGS.pop(next(iter(_EMBEDDINGS)))
        _EMBEDDINGS[key] = encode_texts(texts)
    return _EMBEDDINGS[key]


_EMBEDDINGS: dict[str, np.ndarray] = {}


def _stage_metrics(model: HybridRecommender, truth: dict[str, set[str]]) -> dict[str, float]:
    """Holdout metrics of each source alone, the merged candidates' recall and the re-ranked list."""
    stages = model.stage_rankings(sorted(truth), filters=EVAL_FILTER)
    metrics: dict[str, float] = {}
    for stage, ranked in stages.items():
        if stage == "candidates":
            found = [len(truth[u] & set(ranked.get(u, ()))) / len(truth[u]) for u in truth if truth[u]]
            metrics["stage_candidates_recall"] = float(np.mean(found)) if found else 0.0
            continue
        values = evaluate_rankings(ranked, truth, k=K)
        metrics.update({f"stage_{stage}_{name}": values[name] for name in BASELINE_METRICS})
    return metrics


def _baseline_metrics(train_events, catalog, cases, truth, item_ids, *, seed: int) -> dict[str, float]:
    """The popularity baseline and a seeded random ranking, scored like the model."""
    baseline = PopularityRecommender(random_state=seed).fit(train_events, catalog)
    popular = {
        user: baseline.recommend(
            user_id=user, history_item_ids=c.history, session_item_ids=c.session, k=K, filters=EVAL_FILTER
        ).item_ids
        for user, c in cases.items()
    }
    rows = {"popularity": evaluate_rankings(popular, truth, k=K)}
    rows["random"] = evaluate_rankings(random_rankings(cases, item_ids, seed=seed), truth, k=K)
    return {
        f"baseline_{row}_{name}": values[name] for row, values in rows.items() for name in BASELINE_METRICS
    }


def _inputs(store: StoreData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events (types lower-cased, timestamps naive UTC, ids as str) and catalog of the store."""
    events, catalog = store.events, store.catalog
    for name, frame in (("events", events), ("catalog", catalog)):
        if frame is None:
            raise DataValidationError(
                f"The recsys job needs {name}; the store folder has no {name} file (see docs/DATA.md)",
                file=name,
            )
    assert events is not None and catalog is not None  # for the type checker: checked above
    require_columns(events, EVENT_COLUMNS, name="events")
    require_columns(catalog, CATALOG_COLUMNS, name="catalog")
    events = events.assign(
        user_id=events["user_id"].astype(str),
        item_id=events["item_id"].astype(str),
        event_type=events["event_type"].astype(str).str.strip().str.lower(),
        timestamp=to_utc_naive(events["timestamp"], name="events"),
    )
    return events.dropna(subset=["timestamp"]), catalog


def split_time(timestamps: pd.Series) -> pd.Timestamp:
    """The first holdout instant: the last 7 days, or the last 20% of a history under 28 days.

    Raises:
        DataValidationError: all events share one timestamp, so there is nothing to split.
    """
    start, end = timestamps.min(), timestamps.max()
    span = end - start
    if pd.isna(span) or span <= pd.Timedelta(0):
        raise DataValidationError(
            f"events: all timestamps are equal ({end}); a time-based holdout needs a history that "
            "spans several days",
            file="events",
            column="timestamp",
        )
    if span >= pd.Timedelta(days=MIN_DAYS_FOR_FIXED_HOLDOUT):
        return end - pd.Timedelta(days=HOLDOUT_DAYS)
    return end - span * HOLDOUT_FRACTION


def eval_cases(
    train_events: pd.DataFrame, holdout: pd.DataFrame, catalog_ids: set[str], *, seed: int
) -> dict[str, EvalCase]:
    """Holdout users who bought or carted a catalog item they had not bought before the split.

    At most ``MAX_EVAL_USERS``, a sample seeded by ``seed``. Items bought before the split are not
    relevant: ``recommend`` is told to exclude them, so counting them would only add misses.

    Raises:
        DataValidationError: no such user exists.
    """
    positive = holdout[holdout["event_type"].isin(POSITIVE_EVENTS) & holdout["item_id"].isin(catalog_ids)]
    bought = train_events[train_events["event_type"] == "purchase"]
    history = bought.groupby("user_id")["item_id"].agg(lambda s: list(dict.fromkeys(s)))
    relevant = positive.groupby("user_id")["item_id"].agg(set)
    relevant = {u: items - set(history.get(u, [])) for u, items in relevant.items()}
    users = sorted(u for u, items in relevant.items() if items)
    if not users:
        raise DataValidationError(
            f"events: no user bought or carted a catalog item in the holdout (from "
            f"{holdout['timestamp'].min()}); the recsys job cannot be evaluated on this data",
            file="events",
            column="event_type",
        )
    if len(users) > MAX_EVAL_USERS:
        rng = np.random.default_rng(seed)
        users = sorted(rng.choice(np.asarray(users, dtype=object), MAX_EVAL_USERS, replace=False).tolist())
    sessions = last_viewed(train_events[train_events["user_id"].isin(users)])
    return {u: EvalCase(list(history.get(u, [])), sessions.get(u, []), relevant[u]) for u in users}


def last_viewed(events: pd.DataFrame, n: int = SESSION_ITEMS) -> dict[str, list[str]]:
    """Per user, their last ``n`` distinct viewed items, oldest first."""
    views = events[events["event_type"] == "view"].sort_values("timestamp", kind="stable")
    views = views.drop_duplicates(["user_id", "item_id"], keep="last")
    return views.groupby("user_id").tail(n).groupby("user_id")["item_id"].agg(list).to_dict()


def random_rankings(cases: dict[str, EvalCase], item_ids: np.ndarray, *, seed: int) -> dict[str, list[str]]:
    """A seeded random top ``K`` per user from the catalog, without the user's history."""
    rng = np.random.default_rng(seed)
    ranked = {}
    for user, case in cases.items():
        history = set(case.history)
        draw = rng.choice(len(item_ids), size=min(len(item_ids), K + len(history)), replace=False)
        ranked[user] = [str(i) for i in item_ids[draw] if str(i) not in history][:K]
    return ranked
