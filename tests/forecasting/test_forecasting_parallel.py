"""statsforecast's per-series fits run in several processes where that pays, with the same forecasts."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pandas as pd
import pytest

from forecasting import blend
from forecasting.panel import build_panel


def _sales(n_series: int, days: int = 70, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2026-01-01", periods=days, freq="D")
    rows = [
        {
            "item_id": f"i{s}",
            "store_id": "s1",
            "date": d,
            "quantity": float(rng.poisson(3 + s % 5 + 2 * (d.dayofweek >= 5))),
        }
        for s in range(n_series)
        for d in dates
    ]
    return pd.DataFrame(rows)


def test_few_series_or_a_daemonic_process_fit_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    assert blend.statsforecast_jobs(blend.PARALLEL_MIN_SERIES - 1) == 1
    assert blend.statsforecast_jobs(blend.PARALLEL_MIN_SERIES) == max(1, len(os.sched_getaffinity(0)))
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    assert blend.statsforecast_jobs(10_000) == 1


def test_the_forecasts_do_not_depend_on_the_process_count(monkeypatch: pytest.MonkeyPatch) -> None:
    panel = build_panel(_sales(blend.PARALLEL_MIN_SERIES + 10))
    monkeypatch.setattr(blend, "statsforecast_jobs", lambda n: 2)
    parallel = blend.ets_forecast(panel, 7)
    monkeypatch.setattr(blend, "statsforecast_jobs", lambda n: 1)
    np.testing.assert_array_equal(parallel, blend.ets_forecast(panel, 7))
