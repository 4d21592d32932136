"""A 20k-item catalog: answers stay correct and each query stays far under the latency budget."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from recsys.popularity import PopularityRecommender
from recsys.types import ItemFilter

N_ITEMS = 20_000


@pytest.fixture(scope="module")
def big() -> PopularityRecommender:
    rng = np.random.default_rng(0)
    leaf = rng.integers(0, 200, N_ITEMS)
    catalog = pd.DataFrame(
        {
            "item_id": [f"i{i:05d}" for i in range(N_ITEMS)],
            "title": "item",
            "category": [f"Top{c % 10} > Mid{c % 40} > Leaf{c}" for c in leaf],
            "price": rng.uniform(1, 500, N_ITEMS),
            "in_stock": rng.random(N_ITEMS) > 0.2,
        }
    )
    n = 100_000
    items = np.minimum(rng.zipf(1.3, n) - 1, N_ITEMS - 1)
    events = pd.DataFrame(
        {
            "user_id": rng.integers(0, 5_000, n).astype(str),
            "item_id": [f"i{i:05d}" for i in items],
            "event_type": rng.choice(["view", "add_to_cart", "purchase"], n, p=[0.7, 0.2, 0.1]),
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 90 * 86_400, n), unit="s"),
            "order_id": rng.integers(0, 20_000, n).astype(str),
        }
    )
    return PopularityRecommender().fit(events, catalog)


def _mean_seconds(call, repeat: int = 200) -> float:
    call()
    start = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - start) / repeat


def test_queries_are_fast_on_a_20k_catalog(big):
    session = ["i00003", "i12345", "i00500", "i07777", "i19999"]
    flt = ItemFilter(category="Top3", price_max=100)
    calls = {
        "recommend": lambda: big.recommend(k=10),
        "recommend_session": lambda: big.recommend(session_item_ids=session, history_item_ids=session[:2]),
        "recommend_filtered": lambda: big.recommend(session_item_ids=session, filters=flt),
        "similar": lambda: big.similar_items("i00042"),
        "bought_together": lambda: big.bought_together("i00001"),
        "trending": lambda: big.trending(category="Top1 > Mid11"),
    }
    # Typically 40-150 us each; the bound only catches a fall back to per-item Python loops.
    slow = {name: t for name, t in ((n, _mean_seconds(c)) for n, c in calls.items()) if t > 0.005}
    assert not slow


def test_filters_hold_at_scale(big):
    flt = ItemFilter(category="Top3 > Mid13", price_min=50, price_max=200)
    result = big.recommend(session_item_ids=["i00003"], k=50, filters=flt)
    assert len(result.items) == 50
    for item in result.item_ids:
        pos = big.index_[item]
        assert big.categories_[pos].startswith("Top3 > Mid13 > ") and big.in_stock_[pos]
        assert 50 <= big.prices_[pos] <= 200
