"""Training job of the recommendations family: holdout, settings search, fit, holdout metrics, refit.

The model is ``HybridRecommender`` (multi-source candidates + LambdaRank re-ranker). The holdout
is sized to the data (``training.jobs.recsys_split``: a time cutoff with enough shoppers after it,
else each shopper's last purchase). With a budget, settings are searched (``recsys.space``, seeded
Optuna TPE) on a validation split designed the same way inside the training part. Evaluation
replays what serving does for every evaluated shopper: ``recommend`` for the user (their history
before the split is in the model), top 10 compared with what they bought or carted after it; the
per-shopper NDCG@10 of the model and of popularity is what the promotion gate compares.
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

import numpy as np
import pandas as pd

from models.errors import DataValidationError
from models.evaluation import MIN_CASES, Evaluation, holdout_key
from models.frames import require_columns
from recsys import space
from recsys.embeddings import encode_texts, item_texts
from recsys.hybrid import HybridRecommender
from recsys.hybrid_fit import catalog_extras
from recsys.interactions import to_utc_naive
from recsys.metrics import evaluate_rankings, ndcg_at_k
from recsys.popularity import CATALOG_COLUMNS, EVENT_COLUMNS, PopularityRecommender
from recsys.session import sessions_of
from recsys.types import ItemFilter
from training import progress
from training.jobs.base import Champion, Rescore, TrainResult, rescored
from training.jobs.recsys_split import POSITIVE_EVENTS, EvalCase, Split, design_split, purchases_by_user
from training.store import StoreData
from training.tuning import TuningReport, params_of, tune

K = 10
PRIMARY_METRIC = f"ndcg_at_{K}"
MAX_TRIALS = 40
LABEL_FRACTION = 0.2  # the re-ranker's label window when the holdout-shaped one is too thin
MIN_LABEL_USERS = 1000
# Shoppers scored per trial: ranking 5,000 costs ~15 s on Beauty, 2,000 still separates settings
# whose NDCG@10 differs by ~10 %, and the holdout that decides promotion keeps all of them.
MAX_TRIAL_USERS = 2000
# Models fit only to be scored skip the fit-time precomputation of known shoppers' lists
# (the same answers, computed at request time instead).
NO_PRECOMPUTE = {"precompute_users": 0, "precompute_items": 0}
BASELINE_METRICS = (f"ndcg_at_{K}", f"recall_at_{K}", f"hit_rate_at_{K}")
# Small stores get a lighter ALS: quality is the same there and the job stays well under 20 s.
SMALL_STORE_EVENTS = 50_000
# Offline, stock flags are today's snapshot, not the state at purchase time: ranking quality is
# measured over the whole catalog so items sold out since do not count as misses.
EVAL_FILTER = ItemFilter(in_stock_only=False)


def train(
    store: StoreData, *, seed: int, budget_s: float = 0.0, champion: Champion | None = None
) -> TrainResult:
    """Design the holdout, search settings on a validation split, evaluate, refit on all events.

    Args:
        store: needs ``events`` and ``catalog``.
        seed: seeds the models, the settings search and the random baseline (not the evaluated
            shoppers: those depend on the data only, so two seeds are compared pair by pair).
        budget_s: seconds of settings search on the validation split (0: the defaults only).
        champion: the served champion, re-scored through ``recommend`` (told each shopper's
            history and session, as the server is) on the evaluated shoppers whose holdout
            starts after its training data ends.

    Returns:
        The model refit on all events and holdout metrics: ``ndcg_at_10`` (primary, greater is
        better), ``recall_at_10``, ``hit_rate_at_10``, ``map_at_10``, ``mrr_at_10``, ``coverage``,
        the per-stage rows, ``baseline_popularity_*``, ``baseline_random_*`` and
        ``train_seconds_*`` per stage; the per-shopper NDCG@10 of the model and of popularity.

    Raises:
        DataValidationError: a frame is missing or malformed, the history is too short to split,
            or no user bought or carted a catalog item after an earlier event.
    """
    events, catalog = _inputs(store)
    catalog_ids = set(catalog["item_id"].astype(str))
    progress.stage("designing the holdout")
    split = design_split(events, catalog_ids)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    progress.stage("embedding the catalog")
    embeddings = embed_catalog(catalog)
    seconds["embeddings"] = time.perf_counter() - started
    params = model_params(len(events), seed, scheme=split.scheme, label_fraction=label_fraction(split))
    tuning, search_note = None, "no search (budget 0)"
    if budget_s > 0:
        started = time.perf_counter()
        progress.stage("settings search", estimate_s=budget_s)
        val = design_split(split.train, catalog_ids)
        if len(val.cases) >= MIN_CASES:
            tuning = search_settings(val, catalog, embeddings, params, budget_s=budget_s, seed=seed)
            params = {**params, **params_of(space.suggest, tuning.best_params)}
            search_note = f"on {val.describe()}"
        else:
            search_note = (
                f"skipped: the validation split has {len(val.cases)} shoppers, fewer than the {MIN_CASES} "
                "a settings choice needs; the defaults are used"
            )
        seconds["search"] = time.perf_counter() - started
    started = time.perf_counter()
    progress.stage("fitting on the training part and scoring the holdout")
    model = HybridRecommender(**{**params, **NO_PRECOMPUTE}).fit(split.train, catalog, embeddings=embeddings)
    seconds["fit_split"] = time.perf_counter() - started
    seconds.update({f"fit_{name}": value for name, value in model.timings_.items()})
    cases = split.cases
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
    popular = _popularity_rankings(split.train, catalog, cases, seed=seed)
    metrics.update(_baseline_metrics(popular, cases, truth, model.popular_.item_ids_, seed=seed))
    started = time.perf_counter()
    progress.stage("final fit on all events")
    final = HybridRecommender(**params).fit(events, catalog, embeddings=embeddings)
    seconds["fit_final"] = time.perf_counter() - started
    metrics.update({f"train_seconds_{name}": round(value, 3) for name, value in seconds.items()})
    run_params = {
        "holdout": split.describe(),
        "settings_search": search_note,
        "holdout_scheme": split.scheme,
        "split_date": split.cutoff.isoformat() if split.cutoff is not None else "per shopper",
        "n_train_events": len(split.train),
        "n_holdout_events": len(split.holdout),
        "n_eval_users": len(cases),
        "n_catalog_items": n_items,
        "reranker_used": final.booster_ is not None,
        "order_source": final.order_source_,
    }
    users = sorted(cases)
    evaluation = Evaluation(
        users,
        {
            "model": [ndcg_at_k(predicted.get(u, ()), truth[u], K) for u in users],
            "popularity": [ndcg_at_k(popular.get(u, ()), truth[u], K) for u in users],
        },
        kind="mean",
        case_name="shoppers",
        holdout_key=holdout_key(users, truth=repr(sorted((u, sorted(truth[u])) for u in users))),
    )
    return TrainResult(
        final,
        metrics,
        PRIMARY_METRIC,
        greater_is_better=True,
        params=run_params,
        evaluation=evaluation,
        baselines=("popularity",),
        tuning=tuning,
        data_end=events["timestamp"].max(),
        rescore=rescore_champion(champion, evaluation, cases, split.train) if champion is not None else None,
    )


def rescore_champion(
    champion: Champion, evaluation: Evaluation, cases: dict[str, EvalCase], train_events: pd.DataFrame
) -> Rescore:
    """The champion's per-shopper NDCG@10 on the evaluated shoppers whose holdout starts after its data.

    It is asked as the server running it would be: told, as online events, what each shopper
    bought and viewed between the end of its training data and the start of their holdout.
    """
    keep = champion.after([cases[u].since for u in evaluation.case_ids])
    end = champion.trained_until
    online = train_events[train_events["timestamp"] > end] if end is not None else train_events.iloc[:0]
    online = online[online["user_id"].isin(evaluation.case_ids[keep])]
    history = purchases_by_user(online)
    sessions = sessions_of(online, list(evaluation.case_ids[keep]))

    def score(subset: Evaluation) -> np.ndarray:
        values = []
        for user in subset.case_ids.tolist():
            items = champion.model.recommend(
                user_id=user,
                history_item_ids=history.get(user, ()),
                session_item_ids=[item for item, _ in sessions.get(user, [])],
                session_event_types=[kind for _, kind in sessions.get(user, [])],
                k=K,
                filters=EVAL_FILTER,
            ).item_ids
            values.append(ndcg_at_k(items, cases[user].relevant, K))
        return np.asarray(values)

    return rescored(champion, evaluation, keep, score)


def search_settings(
    val: Split,
    catalog: pd.DataFrame,
    embeddings: np.ndarray,
    params: dict,
    *,
    budget_s: float,
    seed: int,
) -> TuningReport:
    """Seeded TPE over ``recsys.space`` on ``val``, a validation split inside the training part.

    ``val`` is designed like the holdout (``design_split`` again, on the training part), so the
    holdout that decides promotion never sees the search.
    """
    users = sorted(val.cases)
    if len(users) > MAX_TRIAL_USERS:  # a fixed-seed sample, like the holdout's
        picked = np.random.default_rng(0).choice(len(users), MAX_TRIAL_USERS, replace=False)
        users = [users[i] for i in sorted(picked)]
    truth = {user: val.cases[user].relevant for user in users}

    def objective(trial_params: dict) -> float:
        model = HybridRecommender(**{**params, **trial_params, **NO_PRECOMPUTE})
        model.fit(val.train, catalog, embeddings=embeddings)
        ranked = {u: r.item_ids for u, r in model.recommend_batch(users, k=K, filters=EVAL_FILTER).items()}
        return evaluate_rankings(ranked, truth, k=K)[PRIMARY_METRIC]

    return tune(
        objective,
        space.suggest,
        direction="maximize",
        budget_s=budget_s,
        max_trials=MAX_TRIALS,
        seed=seed,
        defaults=space.trial_values(params),
        metric=PRIMARY_METRIC,
        n_cases=len(users),
    )


def label_fraction(split: Split) -> float:
    """The re-ranker's label window: the holdout's share of time when that window holds enough
    shoppers to learn from (``MIN_LABEL_USERS`` buyers in the training part), else ``LABEL_FRACTION``."""
    share = max(split.time_share(), 1e-3)
    ts = split.train["timestamp"]
    start = ts.max() - (ts.max() - ts.min()) * share
    window = split.train[(ts >= start) & split.train["event_type"].isin(POSITIVE_EVENTS)]
    return share if window["user_id"].nunique() >= MIN_LABEL_USERS else LABEL_FRACTION


def model_params(n_events: int, seed: int, *, scheme: str = "time", label_fraction: float = 0.2) -> dict:
    """Starting hyper-parameters for a store of this size and holdout design.

    The re-ranker learns from a label window shaped like the holdout: each shopper's last event
    for a leave-last-out design, else the same share of the time span as the holdout window
    (a one-day holdout on a year of history asks about the next day, not the next two months).
    When shoppers are active at different times (leave-last-out), a decay by calendar time would
    weigh a shopper's whole history by how long ago they happened to shop: no decay then.
    A small store gets fewer ALS iterations and factors.
    """
    params: dict = {"random_state": seed, "rerank_split": "last" if scheme == "last" else "time"}
    if scheme == "last":
        params["half_life_days"] = space.NO_DECAY
    else:
        params["rerank_fraction"] = float(np.clip(label_fraction, 1e-3, 0.5))
    if n_events < SMALL_STORE_EVENTS:
        params.update({"factors": 32, "iterations": 8, "rerank_rounds": 100})
    return params


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


def _popularity_rankings(train_events, catalog, cases, *, seed: int) -> dict[str, list[str]]:
    """The popularity baseline's top ``K`` per evaluated shopper, told what the model is told."""
    baseline = PopularityRecommender(random_state=seed).fit(train_events, catalog)
    return {
        user: baseline.recommend(
            user_id=user,
            history_item_ids=c.history,
            session_item_ids=[item for item, _ in c.session],
            k=K,
            filters=EVAL_FILTER,
        ).item_ids
        for user, c in cases.items()
    }


def _baseline_metrics(popular, cases, truth, item_ids, *, seed: int) -> dict[str, float]:
    """The popularity baseline and a seeded random ranking, scored like the model."""
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


def random_rankings(cases: dict[str, EvalCase], item_ids: np.ndarray, *, seed: int) -> dict[str, list[str]]:
    """A seeded random top ``K`` per user from the catalog, without the user's history."""
    rng = np.random.default_rng(seed)
    ranked = {}
    for user, case in cases.items():
        history = set(case.history)
        draw = rng.choice(len(item_ids), size=min(len(item_ids), K + len(history)), replace=False)
        ranked[user] = [str(i) for i in item_ids[draw] if str(i) not in history][:K]
    return ranked
