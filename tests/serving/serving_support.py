"""The tiny shop the serving tests run on, its four real models, API keys per scope, and fakes.

Known answers used across the tests:
- ``pan`` and ``spatula`` are bought together in three orders; ``wok`` is out of stock.
- ``novel`` is the bestseller; books and kitchen items live in different top-level categories.
- fraud: transactions over 500 on the ``web`` channel are fraud.
- sales: ``pan`` sells 1..7 units by weekday over eight weeks in store ``s1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.naive import SeasonalNaiveForecaster
from fraud.baseline import RawFeatureFraudModel
from models.settings import SCOPES, Settings
from recsys.popularity import PopularityRecommender
from search.bm25 import BM25Search

DAY = pd.Timestamp("2024-03-31 12:00")
FAMILIES = ("recsys", "search", "fraud", "forecasting")
KEYS: dict[str, list[str]] = {f"{scope}-key-abcdefghijklmnopqrstu": [scope] for scope in SCOPES} | {
    "all-key-abcdefghijklmnopqrstu": list(SCOPES)
}

CATALOG = pd.DataFrame(
    [
        ("pan", "Frying Pan", "Non-stick frying pan", "Kitchen > Cookware", "Tefal", 30.0, True),
        ("pot", "Stock Pot", "Large steel stock pot", "Kitchen > Cookware", "Tefal", 45.0, True),
        ("wok", "Carbon Wok", "Carbon steel wok", "Kitchen > Cookware", "Ikea", 50.0, False),
        ("spatula", "Silicone Spatula", "Heat proof spatula", "Kitchen > Utensils", "Ikea", 8.0, True),
        ("ladle", "Soup Ladle", "Steel ladle", "Kitchen > Utensils", "Ikea", 6.0, True),
        ("novel", "Mystery Novel", "A thrilling novel", "Books > Fiction", "Penguin", 15.0, True),
        ("atlas", "World Atlas", "Maps of the world", "Books > Reference", "Collins", 40.0, True),
        ("lamp", "Desk Lamp", "LED desk lamp", "Home > Lighting", "Ikea", 25.0, True),
        ("candle", "Scented Candle", "Vanilla candle", "Home > Lighting", "Yankee", 12.0, True),
        ("rug", "Wool Rug", "Hand woven rug", "Home", "Ikea", 80.0, True),
    ],
    columns=["item_id", "title", "description", "category", "brand", "price", "in_stock"],
).assign(created_at=pd.Timestamp("2024-01-01"))


def _events() -> pd.DataFrame:
    rows = []

    def add(user: str, item: str, kind: str, order: str | None = None, days_ago: int = 0) -> None:
        rows.append((user, item, kind, DAY - pd.Timedelta(days=days_ago), None, order, 1))

    for n in range(6):
        add(f"reader{n}", "novel", "purchase", f"on{n}")
    for n in range(3):
        add(f"cook{n}", "pan", "purchase", f"o{n}")
        add(f"cook{n}", "spatula", "purchase", f"o{n}")
    for n in range(2):
        add(f"potter{n}", "pot", "purchase", f"p{n}")
    for n in range(10):
        add(f"browser{n}", "wok", "view")
    for item in ("lamp", "rug", "atlas", "ladle", "candle"):
        add("shopper", item, "view")
    cols = ["user_id", "item_id", "event_type", "timestamp", "session_id", "order_id", "quantity"]
    return pd.DataFrame(rows, columns=cols)


def _transactions(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    amount = rng.gamma(2.0, 150.0, n).round(2)
    channel = rng.choice(["web", "app", "pos"], n)
    stamps = pd.date_range("2024-01-01", periods=n, freq="3h")
    is_fraud = ((amount > 500) & (channel == "web")).astype("int8")
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "timestamp": stamps,
            "customer_id": [f"c{i % 50}" for i in range(n)],
            "amount": amount,
            "channel": channel,
            "items": rng.integers(1, 6, n),
            "is_fraud": is_fraud,
        }
    )


def _sales() -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=56, freq="D")
    frames = [
        pd.DataFrame(
            {"item_id": item, "store_id": "s1", "date": dates, "quantity": base + dates.dayofweek + 1.0}
        )
        for item, base in (("pan", 0.0), ("novel", 10.0))
    ]
    return pd.concat(frames, ignore_index=True)


def fitted_models() -> dict[str, object]:
    """The four real baselines fitted on the tiny shop."""
    return {
        "recsys": PopularityRecommender().fit(_events(), CATALOG),
        "search": BM25Search().fit(CATALOG),
        "fraud": RawFeatureFraudModel(n_estimators=30, min_child_samples=5).fit(_transactions()),
        "forecasting": SeasonalNaiveForecaster(max_horizon=28).fit(_sales()),
    }


def make_settings(**overrides: object) -> Settings:
    """Test settings: the scope keys, no .env, heap not frozen (a full collection per app would
    cost ~0.2 s in a test process), overrides on top."""
    options: dict[str, object] = {"freeze_heap": False} | overrides
    return Settings(_env_file=None, api_keys=KEYS, **options)  # type: ignore[call-arg]


def as_scope(scope: str) -> dict[str, str]:
    """Headers of the key holding exactly ``scope``."""
    return {"X-API-Key": f"{scope}-key-abcdefghijklmnopqrstu"}


@dataclass(frozen=True)
class FakeArtifact:
    """What ``models.registry.fetch_alias`` returns."""

    path: Path
    version: str
    from_cache: bool = False


class BrokenRecommender:
    """A recsys model whose every query fails unexpectedly (drives the catch-all 500)."""

    def recommend(self, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail: db password is hunter2")
