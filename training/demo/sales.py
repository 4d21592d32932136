"""Daily item x store sales with trend, weekly and yearly seasonality, promotions, holidays and stock-outs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.demo.catalog import CatalogTruth
from training.demo.vocab import SEASONALITY
from training.demo.world import REFERENCE_DATE, SALES_DAYS, Taxonomy, format_ids

DISPERSION = 4.0  # negative binomial shape: variance = mu + mu^2 / DISPERSION
PROMO_EVERY_DAYS = 60
STOCKOUTS_PER_SERIES = 3.0
# Day-of-week demand (Monday first), per department kind: shops peak at the weekend.
WEEKLY = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.3, 1.15])


def holidays(dates: pd.DatetimeIndex) -> dict[pd.Timestamp, float]:
    """Holiday dates inside ``dates`` and their demand multiplier (fixed, so deterministic)."""
    lift: dict[pd.Timestamp, float] = {}
    for year in sorted(set(dates.year)):
        nov = pd.date_range(f"{year}-11-01", f"{year}-11-30")
        black_friday = nov[nov.dayofweek == 3][3] + pd.Timedelta(days=1)
        easter = {2024: "03-31", 2025: "04-20", 2026: "04-05", 2027: "03-28"}.get(year)
        days = {
            f"{year}-01-01": 0.4,
            f"{year}-02-14": 1.2,
            f"{year}-12-24": 1.4,
            f"{year}-12-25": 0.2,
            f"{year}-12-26": 1.5,
            f"{year}-12-31": 0.8,
            str(black_friday.date()): 2.5,
            str((black_friday + pd.Timedelta(days=3)).date()): 1.8,
        }
        if easter:
            days[f"{year}-{easter}"] = 0.6
        lift.update({pd.Timestamp(d): f for d, f in days.items()})
    return {d: f for d, f in lift.items() if dates[0] <= d <= dates[-1]}


def _runs(rng: np.random.Generator, shape: tuple[int, int], rate: float, lo: int, hi: int) -> np.ndarray:
    """Boolean (series, day) mask of random runs of ``lo..hi`` days, about ``rate`` runs per series."""
    n_series, n_days = shape
    mask = np.zeros(shape, dtype=bool)
    counts = rng.poisson(rate, n_series)
    series = np.repeat(np.arange(n_series), counts)
    start = rng.integers(0, n_days, len(series))
    length = rng.integers(lo, hi + 1, len(series))
    offsets = np.arange(hi)
    days = start[:, None] + offsets[None, :]
    keep = (offsets[None, :] < length[:, None]) & (days < n_days)
    mask[np.broadcast_to(series[:, None], days.shape)[keep], days[keep]] = True
    return mask


def _seasonal_mean(
    rng: np.random.Generator, level: np.ndarray, depts: list[str], dates: pd.DatetimeIndex
) -> np.ndarray:
    """Expected daily demand (series x day) before prices: level, trend, week, year, holidays."""
    n_series, n_days = len(level), len(dates)
    trend = np.exp(rng.normal(0.1, 0.25, n_series)[:, None] * (np.arange(n_days) / n_days)[None, :])
    weekly = WEEKLY[dates.dayofweek.to_numpy()][None, :] * np.exp(rng.normal(0.0, 0.03, (n_series, 1)))
    peak = np.array([SEASONALITY[d][0] for d in depts])[:, None]
    amp = np.array([SEASONALITY[d][1] for d in depts])[:, None]
    yearly = 1.0 + amp * np.cos(2 * np.pi * (dates.dayofyear.to_numpy()[None, :] - peak) / 365.25)
    hol = holidays(dates)
    hol_lift = np.array([hol.get(d, 1.0) for d in dates])[None, :]
    return level[:, None] * trend * weekly * yearly * hol_lift


def _prices(rng: np.random.Generator, list_price: np.ndarray, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily prices (series x day) and the promotion mask: promotions discount the price."""
    n_series = len(list_price)
    promo = _runs(rng, (n_series, n_days), n_days / PROMO_EVERY_DAYS, 3, 10)
    discount = np.where(promo, rng.uniform(0.1, 0.3, (n_series, 1)), 0.0)
    # Half the series get one permanent price change on a random day.
    change_day = rng.integers(0, n_days, n_series)
    change = np.where(rng.random(n_series) < 0.5, rng.uniform(0.85, 1.15, n_series), 1.0)
    after = np.arange(n_days)[None, :] >= change_day[:, None]
    base = list_price[:, None] * np.where(after, change[:, None], 1.0)
    return np.round(base * (1.0 - discount), 2), promo


def build_sales(
    rng: np.random.Generator, truth: CatalogTruth, tax: Taxonomy, n_items: int, n_stores: int
) -> pd.DataFrame:
    """The ``sales`` file for the ``n_items`` most popular listed items in ``n_stores`` stores."""
    listed = np.flatnonzero(truth.listed)
    items = listed[np.argsort(-truth.popularity[listed], kind="stable")[:n_items]]
    items = items[np.argsort(truth.ids[items], kind="stable")]
    dates = pd.date_range(end=REFERENCE_DATE, periods=SALES_DAYS, freq="D")
    s_item = np.repeat(items, n_stores)
    s_store = np.tile(np.arange(n_stores), len(items))
    rank = np.argsort(np.argsort(-truth.popularity[s_item], kind="stable"), kind="stable") // n_stores
    level = (2.0 + 40.0 / np.sqrt(rank + 1.0)) * np.exp(rng.normal(0.0, 0.3, n_stores))[s_store]
    mu = _seasonal_mean(rng, level, [tax.departments[d] for d in truth.dept[s_item]], dates)
    price, promo = _prices(rng, truth.price[s_item], len(dates))
    elasticity = rng.uniform(1.5, 3.0, (len(s_item), 1))
    mu = mu * (price / truth.price[s_item][:, None]) ** -elasticity
    qty = rng.negative_binomial(DISPERSION, DISPERSION / (DISPERSION + mu)).astype(np.float64)
    qty[_runs(rng, qty.shape, STOCKOUTS_PER_SERIES, 2, 10)] = 0.0  # stock-outs
    hol = holidays(dates)
    return pd.DataFrame(
        {
            "item_id": np.repeat(truth.ids[s_item], len(dates)),
            "store_id": np.repeat(format_ids("store_", n_stores, width=2)[s_store], len(dates)),
            "date": np.tile(dates.to_numpy().astype("datetime64[ns]"), len(s_item)),
            "quantity": qty.ravel(),
            "price": price.ravel(),
            "promotion": promo.ravel().astype(np.int8),
            "holiday": np.tile(np.array([d in hol for d in dates], dtype=np.int8), len(s_item)),
        }
    )
