"""The soak's mixed storefront workload (benchmarks/soak.py): ids from the demo store, one request
builder per endpoint, and the models it serves (the training jobs' or the quick baselines)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from models.families import FAMILIES

# Storefront-like weights: recommendations, search and events dominate; planning calls are rare.
MIX: dict[str, int] = {
    "recs": 24,
    "search": 20,
    "events": 20,
    "suggest": 10,
    "similar": 10,
    "fraud": 8,
    "forecast": 5,
    "reorder": 3,
}
Request = tuple[str, str, Any, dict[str, Any] | None]  # method, path, json body, query params


@dataclass
class Sample:
    """Ids and words of the demo store the workload draws from."""

    users: list[str]
    items: list[str]
    words: list[str]
    series: list[tuple[str, str]]
    transactions: list[dict[str, Any]]

    @classmethod
    def from_store(cls, store_dir: Path, *, seed: int = 0) -> Sample:
        from training.data import load_store

        store = load_store(store_dir)
        frames = (store.events, store.catalog, store.sales, store.transactions)
        if any(frame is None for frame in frames):
            raise SystemExit(f"{store_dir} lacks one of events, catalog, sales, transactions")
        assert store.events is not None and store.catalog is not None
        assert store.sales is not None and store.transactions is not None
        words = sorted({w.lower() for t in store.catalog["title"] for w in str(t).split() if len(w) > 3})
        extras = store.transactions.drop(columns=["transaction_id", "timestamp", "is_fraud"])
        rows = extras.sample(n=min(500, len(extras)), random_state=seed).to_dict("records")
        pairs = store.sales[["item_id", "store_id"]].drop_duplicates().astype(str)
        return cls(
            users=sorted(store.events["user_id"].astype(str).unique()),
            items=sorted(store.catalog["item_id"].astype(str)),
            words=words,
            series=list(pairs.itertuples(index=False, name=None)),
            transactions=[{k: _plain(v) for k, v in row.items()} for row in rows],
        )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def make_request(kind: str, i: int, s: Sample, rng: random.Random) -> Request:
    """Request number ``i`` of ``kind``: known and new users rotate, transaction ids are new."""
    user = s.users[i % len(s.users)] if i % 3 else f"soak-u{i % 1000}"
    item = rng.choice(s.items)
    if kind == "events":
        n = rng.randint(1, 3)
        event_type = rng.choices(["view", "add_to_cart", "purchase"], weights=[7, 2, 1])[0]
        order = {"order_id": f"soak-o{i}"} if event_type == "purchase" else {}
        events = [
            {"user_id": user, "item_id": rng.choice(s.items), "event_type": event_type, **order}
            for _ in range(n)
        ]
        return "POST", "/v1/events", {"events": events}, None
    if kind == "recs":
        if i % 10 < 3:  # anonymous session
            return "POST", "/v1/recommendations", {"session_item_ids": rng.sample(s.items, 2), "k": 10}, None
        return "POST", "/v1/recommendations", {"user_id": user, "k": 10}, None
    if kind == "similar":
        return "GET", f"/v1/items/{item}/similar", None, {"k": 10}
    if kind == "search":
        query = " ".join(rng.sample(s.words, rng.randint(1, 2)))
        return "POST", "/v1/search", {"query": query, "k": 10, "user_id": user}, None
    if kind == "suggest":
        return "GET", "/v1/search/suggest", None, {"q": rng.choice(s.words)[: rng.randint(2, 4)], "k": 5}
    if kind == "fraud":
        row = rng.choice(s.transactions)
        stamp = datetime.now(UTC).isoformat()
        return "POST", "/v1/fraud/score", {**row, "transaction_id": f"soak-t{i}", "timestamp": stamp}, None
    item_id, store_id = rng.choice(s.series)
    if kind == "forecast":
        body = {"item_id": item_id, "store_id": store_id, "horizon": rng.choice([7, 14])}
        return "POST", "/v1/forecast", body, None
    if kind == "reorder":
        params = {"lead_time": 7, "store_id": store_id, "on_hand": rng.randint(0, 50)}
        return "GET", f"/v1/inventory/{item_id}/reorder", None, params
    raise ValueError(f"unknown request kind {kind!r}; expected one of {sorted(MIX)}")


def build_models(work: Path, *, quick: bool, seed: int = 0) -> dict[str, str]:
    """Demo store in ``work/store`` and a model per family in ``work/<family>`` (reused if there)."""
    if all((work / f / "meta.json").is_file() for f in FAMILIES) and (work / "store").is_dir():
        return {f: str(work / f) for f in FAMILIES}
    if not quick:
        from benchmarks.fuzz_api import train_demo_models

        dirs, errors = train_demo_models(work, seed=seed)
        if errors:
            raise SystemExit(f"families not trained: {errors}")
        return dirs
    from forecasting.naive import SeasonalNaiveForecaster
    from fraud.baseline import RawFeatureFraudModel
    from recsys.popularity import PopularityRecommender
    from search.bm25 import BM25Search
    from training.data import load_store
    from training.demo import generate_store

    generate_store(work / "store", seed=seed, scale="small")
    st = load_store(work / "store")
    assert st.events is not None and st.catalog is not None
    assert st.sales is not None and st.transactions is not None
    models: dict[str, Any] = {
        "recsys": PopularityRecommender().fit(st.events, st.catalog),
        "search": BM25Search().fit(st.catalog),
        "fraud": RawFeatureFraudModel(n_estimators=50, random_state=seed).fit(st.transactions),
        "forecasting": SeasonalNaiveForecaster(max_horizon=28).fit(st.sales),
    }
    return {family: str(model.save(work / family)) for family, model in models.items()}
