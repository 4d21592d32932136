"""Fitting steps of ``HybridRecommender``: inputs, candidate sources, the re-ranker's label window."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.errors import InvalidInputError
from recsys.candidates import CandidateSet, ItemAttributes, generate
from recsys.categories import category_codes
from recsys.embeddings import encode_texts, item_texts
from recsys.interactions import (
    CoPurchases,
    co_purchases,
    decayed_popularity,
    known_events,
    resolve_event_weights,
    to_utc_naive,
)
from recsys.profiles import History, ProfileRow, batch_profiles, build_history
from recsys.sources import (
    SourceTables,
    content_neighbours,
    covisitation,
    fit_als,
    table_matrix,
)

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Fitted:
    """What the sources learned from one window of events."""

    tables: SourceTables
    history: History
    attrs: ItemAttributes
    item_factors: np.ndarray
    covisit: CoPurchases
    copurchase: CoPurchases
    scores: np.ndarray  # decayed popularity


def catalog_extras(catalog: pd.DataFrame) -> pd.DataFrame:
    """The catalog deduplicated like ``catalog_arrays`` (last row per id wins), ids as str."""
    return catalog.assign(item_id=catalog["item_id"].astype(str)).drop_duplicates("item_id", keep="last")


def known_with_users(events: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """``known_events`` plus the ``user_id`` column (str), input order kept."""
    item = index.get_indexer(events["item_id"].astype(str))
    ts = to_utc_naive(events["timestamp"], name="events")
    keep = (item >= 0) & ts.notna().to_numpy()
    subset = events[keep]
    known = known_events(subset, index)
    return known.assign(user_id=subset["user_id"].astype(str).to_numpy())


def fit_sources(
    known: pd.DataFrame, n_items: int, base: dict, *, content: CoPurchases, params: dict, seed: int
) -> Fitted:
    """Fit every source on ``known`` events.

    Args:
        known: ``known_with_users`` rows.
        n_items: catalog size.
        base: per-item catalog values: ``leaf``, ``top``, ``brand``, ``log_price``, ``listed`` (ns).
        content: the content neighbour table (catalog-only, shared between windows).
        params: the model's hyper-parameters (``get_params``) with resolved ``event_weights``.
        seed: ALS seed.
    """
    weights, half_life = params["event_weights"], float(params["half_life_days"])
    history = build_history(known, known["user_id"], weights=weights, half_life_days=half_life)
    scores = decayed_popularity(
        known["item"].to_numpy(),
        known["event_type"].to_numpy(),
        known["timestamp"].to_numpy(),
        n_items,
        half_life_days=half_life,
        event_weights=weights,
    )
    bought = known[(known["event_type"] == "purchase") & known["order_id"].notna()]
    copurchase = co_purchases(
        bought["item"].to_numpy(),
        bought["order_id"].to_numpy(),
        n_items,
        min_support=int(params["min_support"]),
    )
    ts = known["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    covisit = covisitation(
        pd.factorize(known["user_id"])[0],
        known["item"].to_numpy(),
        ts,
        n_items,
        window=int(params["covisit_window"]),
        backward=float(params["covisit_backward"]),
    )
    profiles = batch_profiles(
        [ProfileRow(*history.row(u)) for u in range(len(history.user_ids))],
        n_items,
        max_recent=int(params["max_recent"]),
        recent_half_life=float(params["recent_half_life"]),
    )
    als, factors = None, np.zeros((n_items, 0), np.float32)
    if profiles.conf.nnz:
        als = fit_als(
            profiles.conf,
            factors=int(params["factors"]),
            regularization=float(params["regularization"]),
            alpha=float(params["alpha"]),
            iterations=int(params["iterations"]),
            seed=seed,
        )
        factors = np.asarray(als.item_factors, np.float32)
    top = float(scores.max()) if len(scores) else 0.0
    relative = scores / top if top > 0 else np.zeros_like(scores)
    end = ts.max() if len(ts) else 0
    last = np.full(n_items, np.nan)
    if len(ts):
        latest = pd.Series(ts).groupby(known["item"].to_numpy()).max()
        last[latest.index.to_numpy()] = (end - latest.to_numpy()) / 1e9 / _SECONDS_PER_DAY
    listed = base["listed"]
    days_listed = (
        np.where(listed > 0, (end - listed) / 1e9 / _SECONDS_PER_DAY, np.nan)
        if len(ts)
        else np.full(n_items, np.nan)
    )
    tables = SourceTables(
        als,
        table_matrix(covisit, n_items),
        table_matrix(copurchase, n_items),
        table_matrix(content, n_items),
        relative,
        base["leaf"],
        base["top"],
    )
    attrs = ItemAttributes(relative, last, days_listed, base["log_price"], base["brand"])
    return Fitted(tables, history, attrs, factors, covisit, copurchase, scores)


def label_split(known: pd.DataFrame, *, mode: str, fraction: float) -> np.ndarray:
    """Boolean mask of the label-window rows: the last ``fraction`` of time, or each user's last event."""
    if mode == "last":
        order = np.lexsort(
            (np.arange(len(known)), known["timestamp"].to_numpy(), known["user_id"].to_numpy())
        )
        users = known["user_id"].to_numpy()[order]
        is_last = np.r_[users[1:] != users[:-1], True]
        counts = pd.Series(users).map(pd.Series(users).value_counts()).to_numpy()
        mask = np.zeros(len(known), bool)
        mask[order[is_last & (counts >= 3)]] = True  # users with too little history stay in training
        return mask
    ts = known["timestamp"]
    cutoff = ts.max() - (ts.max() - ts.min()) * fraction
    return (ts >= cutoff).to_numpy()


def label_rows(
    early: Fitted,
    later: pd.DataFrame,
    *,
    label_types: tuple[str, ...] | None,
    exclude_bought: bool,
    max_users: int,
    seed: int,
) -> tuple[list[int], list[set[int]]]:
    """History rows of the label-window users and what each went on to do (their labels)."""
    positive = later if not label_types else later[later["event_type"].isin(label_types)]
    truth = positive.groupby("user_id")["item"].agg(lambda s: set(s.tolist()))
    row_of = {u: i for i, u in enumerate(early.history.user_ids.tolist())}
    rows, labels = [], []
    for user, items in truth.items():
        row = row_of.get(user)
        if row is None:
            continue
        if exclude_bought:
            hist_items, _, bought = early.history.row(row)
            items = items - set(hist_items[bought].tolist())
        if items:
            rows.append(row)
            labels.append(items)
    if len(rows) > max_users:
        keep = np.sort(np.random.default_rng(seed).choice(len(rows), max_users, replace=False))
        rows, labels = [rows[i] for i in keep], [labels[i] for i in keep]
    return rows, labels


def candidates_for_rows(fitted: Fitted, rows: list[int], params: dict, *, block_seen: bool) -> CandidateSet:
    """Candidates (with features) of stored history rows, in chunks to bound memory."""
    n_items = len(fitted.attrs.popularity)
    parts: list[CandidateSet] = []
    chunk = max(1, min(512, 4_000_000 // max(n_items, 1)))
    for lo in range(0, len(rows), chunk):
        profiles = batch_profiles(
            [ProfileRow(*fitted.history.row(r)) for r in rows[lo : lo + chunk]],
            n_items,
            max_recent=int(params["max_recent"]),
            recent_half_life=float(params["recent_half_life"]),
        )
        parts.append(
            generate(
                profiles,
                fitted.tables,
                fitted.attrs,
                per_source=int(params["per_source"]),
                blocked=profiles.seen if block_seen else None,
            )
        )
    return concat_candidates(parts)


def concat_candidates(parts: list[CandidateSet]) -> CandidateSet:
    """One ``CandidateSet`` from consecutive batches."""
    if not parts:
        from recsys.candidates import FEATURE_NAMES

        return CandidateSet(
            np.zeros(0, np.int64),
            np.zeros((0, len(FEATURE_NAMES)), np.float32),
            np.zeros(1, np.int64),
            np.zeros(0, np.int64),
        )
    offsets = np.cumsum([0] + [p.bounds[-1] for p in parts[:-1]])
    bounds = np.concatenate([[0]] + [p.bounds[1:] + o for p, o in zip(parts, offsets, strict=True)])
    return CandidateSet(
        np.concatenate([p.items for p in parts]),
        np.concatenate([p.features for p in parts]),
        bounds.astype(np.int64),
        np.concatenate([p.best_source for p in parts]),
    )


def content_table(
    frame: pd.DataFrame, embeddings: np.ndarray | None, n_items: int, *, use_content: bool
) -> CoPurchases:
    """Content neighbours from ``embeddings`` (MiniLM-encoded here when ``None`` and ``use_content``)."""
    if embeddings is None and not use_content:
        return CoPurchases.empty(n_items)
    if embeddings is None:
        embeddings = encode_texts(item_texts(frame))
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2 or len(embeddings) != n_items:
        raise InvalidInputError(
            f"embeddings must have one row per distinct catalog item ({n_items}), "
            f"got shape {embeddings.shape}",
            field="embeddings",
        )
    return content_neighbours(embeddings)


def catalog_base(popular, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-item codes and values the sources and features read: leaf/top category, brand, price, listing."""
    leaf, top = category_codes(popular.categories_)
    brand_codes = popular.brand_codes_  # the catalog's brands, normalised and coded by the baseline
    listed = np.zeros(len(frame), np.int64)
    if "created_at" in frame.columns:
        created = pd.to_datetime(frame["created_at"], utc=True, errors="coerce").dt.tz_localize(None)
        listed = np.where(created.notna(), created.to_numpy().astype("datetime64[ns]").astype(np.int64), 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_price = np.log1p(popular.prices_)
    return {"leaf": leaf, "top": top, "brand": brand_codes, "log_price": log_price, "listed": listed}


class Clock:
    """Seconds per fitting stage (reported by the training job)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


def checked_params(model: Any) -> dict[str, Any]:
    """The model's hyper-parameters checked (``InvalidInputError`` naming the field), resolved for fitting."""
    checks = {
        "factors": (model.factors, int, 1),
        "iterations": (model.iterations, int, 1),
        "covisit_window": (model.covisit_window, int, 1),
        "max_recent": (model.max_recent, int, 1),
        "per_source": (model.per_source, int, 1),
        "rerank_max_users": (model.rerank_max_users, int, 1),
        "rerank_rounds": (model.rerank_rounds, int, 1),
        "precompute_users": (model.precompute_users, int, 0),
        "precompute_items": (model.precompute_items, int, 0),
        "regularization": (model.regularization, float, 0),
        "alpha": (model.alpha, float, 0),
        "recent_half_life": (model.recent_half_life, float, 1e-9),
        "half_life_days": (model.half_life_days, float, 1e-9),
    }
    for name, (value, kind, low) in checks.items():
        ok = not isinstance(value, bool) and isinstance(value, int if kind is int else int | float)
        if not ok or value < low:
            raise InvalidInputError(
                f"{name} must be a number >= {low}, got {value!r}", field=name, value=value
            )
    if model.rerank_split not in ("time", "last"):
        raise InvalidInputError(
            f"rerank_split must be 'time' or 'last', got {model.rerank_split!r}", field="rerank_split"
        )
    if not 0 < float(model.rerank_fraction) < 1:
        raise InvalidInputError("rerank_fraction must lie in (0, 1)", field="rerank_fraction")
    params = model.get_params()
    params["event_weights"] = resolve_event_weights(model.event_weights)
    params["label_event_types"] = tuple(model.label_event_types) if model.label_event_types else None
    return params
