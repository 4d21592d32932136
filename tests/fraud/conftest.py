"""Synthetic transactions with known fraud: ``channel == "web" and amount > 500``, or shared IPs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud.baseline import RawFeatureFraudModel


def make_transactions(n: int = 3000, *, days: int = 30, seed: int = 0) -> pd.DataFrame:
    """Transactions over ``days`` days with raw columns of every kind the model meets."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.uniform(0, days * 86400, n))
    channel = rng.choice(["web", "app", "pos"], n)
    amount = np.round(rng.lognormal(5.2, 1.0, n), 2)
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{seed}-{i}" for i in range(n)],
            "timestamp": pd.Timestamp("2024-03-04") + pd.to_timedelta(seconds, unit="s"),
            "customer_id": rng.integers(0, 150, n).astype(str),
            "amount": amount,
            "terminal_id": rng.integers(0, 900, n).astype(str),  # id: never used raw
            "device_id": rng.integers(0, 40, n).astype(str),  # low-cardinality id: still never raw
            "channel": channel,
            "country": rng.choice(["FR", "DE", "US"], n),
            "note": [f"free text {i}" for i in range(n)],  # too many categories
            "items": rng.integers(1, 5, n),
            "is_3ds": rng.random(n) < 0.5,
            "card_expiry": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
        }
    )
    frame["is_fraud"] = ((channel == "web") & (amount > 500)).astype("int8")
    frame["fraud_scenario"] = frame["is_fraud"] * 2  # a simulator's leak column: must be ignored
    return frame


def make_ip_store(n: int = 6000, *, days: int = 60, seed: int = 0) -> pd.DataFrame:
    """Transactions whose fraud comes from a small pool of shared IP addresses.

    Genuine customers pay from one or two addresses of their own; fraudsters pay on stolen
    customers' accounts from 12 addresses they share. No raw column tells them apart (same amounts,
    channels and hours), so only per-IP history features can find them, and only if ``ip_address``
    is found to be an entity. ``email`` is one per customer (it groups transactions exactly as
    ``customer_id`` does); ``order_ref`` is unique per row; ``basket_size`` is a count.
    """
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, 300, n)
    fraud = rng.random(n) < 0.03
    home_ip = np.array([f"10.{c // 200}.{c % 200}.{k}" for c in range(300) for k in range(2)])
    ip = home_ip[customers * 2 + rng.integers(0, 2, n)]
    ip[fraud] = [f"66.6.6.{k}" for k in rng.integers(0, 12, int(fraud.sum()))]
    seconds = np.sort(rng.uniform(0, days * 86400, n))
    return pd.DataFrame(
        {
            "transaction_id": [f"t{seed}-{i:05d}" for i in range(n)],
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, unit="s"),
            "customer_id": [f"c{c:03d}" for c in customers],
            "amount": np.round(rng.lognormal(4.0, 1.0, n), 2),
            "ip_address": ip,
            "email": [f"user{c}@example.com" for c in customers],
            "order_ref": [f"o-{seed}-{i}" for i in range(n)],
            "basket_size": rng.integers(1, 400, n),
            "card_number": rng.integers(10**15, 10**15 + 500, n),  # integer, named like an id
            "score_v2": rng.random(n),
            "channel": rng.choice(["web", "app"], n),
            "is_fraud": fraud.astype("int8"),
        }
    )


@pytest.fixture(scope="session")
def _transactions() -> pd.DataFrame:
    return make_transactions()


@pytest.fixture
def transactions(_transactions: pd.DataFrame) -> pd.DataFrame:
    """A fresh copy per test, so tests may modify it."""
    return _transactions.copy()


@pytest.fixture(scope="session")
def fitted(_transactions: pd.DataFrame) -> RawFeatureFraudModel:
    """One model fit per session (few trees: fast). Tests must not modify it."""
    return RawFeatureFraudModel(n_estimators=60, random_state=0).fit(_transactions)


@pytest.fixture(scope="session")
def fresh_transactions() -> pd.DataFrame:
    """Unseen transactions from the same process, for ranking checks."""
    return make_transactions(1500, seed=1)


@pytest.fixture(scope="session")
def make_tx():
    """The synthetic generator itself, for tests that need other sizes or seeds."""
    return make_transactions


@pytest.fixture(scope="session")
def to_records():
    """Turn a frame into request-like mappings (no label)."""
    return lambda frame: frame.drop(columns=["is_fraud"]).to_dict("records")


@pytest.fixture(scope="session")
def make_ip_tx():
    """Transactions whose fraud only per-IP history reveals (``make_ip_store``)."""
    return make_ip_store
