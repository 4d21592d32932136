"""Synthetic daily sales with known answers: pure weekly patterns, and a noisy variant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.naive import SeasonalNaiveForecaster

START = pd.Timestamp("2024-01-01")  # a Monday
# item, store, units sold Monday..Sunday
PATTERNS = {
    ("a", "s1"): [1, 2, 3, 4, 5, 6, 7],
    ("a", "s2"): [10, 0, 10, 0, 10, 0, 10],
    ("b", "s1"): [3, 3, 3, 3, 8, 9, 0],
}


def make_sales(days: int = 70, *, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """``days`` days of every pattern in PATTERNS, plus Gaussian noise (rounded, >= 0)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=days, freq="D")
    parts = []
    for (item, store), week in PATTERNS.items():
        qty = np.asarray(week, float)[dates.dayofweek]
        if noise:
            qty = np.maximum(np.round(qty + rng.normal(0, noise, days)), 0)
        parts.append(pd.DataFrame({"item_id": item, "store_id": store, "date": dates, "quantity": qty}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="session")
def _sales() -> pd.DataFrame:
    return make_sales()


@pytest.fixture
def sales(_sales: pd.DataFrame) -> pd.DataFrame:
    """A fresh copy per test, so tests may modify it."""
    return _sales.copy()


@pytest.fixture(scope="session")
def fitted(_sales: pd.DataFrame) -> SeasonalNaiveForecaster:
    """Fit once per session on the pure weekly patterns. Tests must not modify it."""
    return SeasonalNaiveForecaster().fit(_sales)


@pytest.fixture(scope="session")
def patterns() -> dict[tuple[str, str], list[int]]:
    """The weekly pattern of each (item, store) series, Monday first."""
    return PATTERNS


@pytest.fixture(scope="session")
def make_sales_frame():
    """The synthetic generator itself, for tests that need noise or other lengths."""
    return make_sales
