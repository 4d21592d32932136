"""Low-rank denoising across stores (forecasting.denoise) and GlobalForecaster(denoise_rank=k)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import denoise
from forecasting.global_model import GlobalForecaster
from forecasting.panel import build_panel, future_covariates
from models.errors import InvalidInputError


def _rank_k(rows: int, cols: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, k)) @ rng.normal(size=(k, cols))


def test_rank_k_reconstruction_of_a_rank_k_matrix_is_exact():
    matrix = _rank_k(6, 30, 2)
    out = denoise.low_rank(matrix, np.array(["a"] * 6), 2)
    np.testing.assert_allclose(out, matrix, atol=1e-9)
    assert out is not matrix


def test_low_rank_removes_noise_that_stores_do_not_share():
    rng = np.random.default_rng(1)
    truth = np.outer(rng.uniform(1, 3, 20), 10 + 5 * np.sin(np.arange(60) / 4))  # rank 1
    noisy = truth + rng.normal(0, 1, truth.shape)
    out = denoise.low_rank(noisy, np.zeros(20), 1)
    assert np.abs(out - truth).mean() < 0.5 * np.abs(noisy - truth).mean()


def test_young_series_single_store_items_and_items_in_few_stores_stay_raw():
    matrix = np.abs(_rank_k(5, 20, 3)) + 1
    matrix[1, :4] = np.nan  # born inside the window
    groups = np.array(["a", "a", "a", "a", "b"])  # b: one store
    out = denoise.low_rank(matrix, groups, 1)
    np.testing.assert_array_equal(out[1], matrix[1])
    np.testing.assert_array_equal(out[4], matrix[4])
    assert not np.allclose(out[[0, 2, 3]], matrix[[0, 2, 3]])  # the three complete rows of a
    same = denoise.low_rank(matrix, groups, 3)  # rank 3 of three complete rows: nothing to drop
    np.testing.assert_array_equal(same, matrix)


def test_non_negative_history_stays_non_negative_and_deterministic():
    matrix = np.abs(_rank_k(8, 40, 4, seed=3))
    groups = np.array(["a"] * 8)
    out = denoise.low_rank(matrix, groups, 1)
    assert out.min() >= 0
    np.testing.assert_array_equal(out, denoise.low_rank(matrix.copy(), groups, 1))


def test_feature_is_the_denoised_value_one_season_back_in_the_past_and_the_future(make_sales_frame):
    panel = build_panel(make_sales_frame(days=42, noise=1.0, seed=2))
    season, horizon = 7, 10
    augmented, future = denoise.with_feature(panel, None, horizon, rank=1, season=season, standardise=False)
    denoised = denoise.low_rank(panel.values, panel.item_ids, 1)
    feature = augmented.covariates[denoise.FEATURE]
    assert np.isnan(feature[:, :season]).all()
    np.testing.assert_allclose(feature[:, season:], denoised[:, :-season])  # never the same period
    ahead = future[denoise.FEATURE].to_numpy().reshape(len(panel.item_ids), horizon)
    t = panel.values.shape[1]
    np.testing.assert_allclose(ahead[:, :season], denoised[:, t - season :])
    assert np.isnan(ahead[:, season:]).all()  # beyond one season the recursion cannot know it
    assert list(future.columns) == ["unique_id", "ds", denoise.FEATURE]


def test_feature_uses_only_the_history_it_is_given(make_sales_frame):
    sales = make_sales_frame(days=49, noise=1.0, seed=4)
    cutoff = pd.Timestamp("2024-02-04")
    changed = sales.copy()
    later = changed["date"] > cutoff
    changed.loc[later, "quantity"] = changed.loc[later, "quantity"] * 10 + 50
    outs = []
    for frame in (sales, changed):
        history = build_panel(frame).upto(cutoff)
        augmented, future = denoise.with_feature(
            history, future_covariates(history, 5), 5, rank=1, season=7, standardise=True
        )
        outs.append((augmented.covariates[denoise.FEATURE], future[denoise.FEATURE].to_numpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


@pytest.fixture(scope="module")
def denoised_model(make_sales_frame) -> GlobalForecaster:
    sales = make_sales_frame(days=70, noise=1.0, seed=5)
    return GlobalForecaster(max_horizon=7, n_estimators=30, denoise_rank=1).fit(sales)


def test_the_denoised_lag_replaces_the_raw_seasonal_lag(denoised_model):
    assert denoise.FEATURE in denoised_model.feature_names_
    assert "lag7" not in denoised_model.feature_names_ and "lag1" in denoised_model.feature_names_
    frame = denoised_model.predict(7)
    assert len(frame) == 3 * 7 and frame["mean"].notna().all()


def test_save_load_gives_identical_outputs(denoised_model, tmp_path):
    loaded = GlobalForecaster.load(denoised_model.save(tmp_path / "m"))
    assert loaded.denoise_rank == 1
    pd.testing.assert_frame_equal(loaded.predict(7), denoised_model.predict(7))


def test_same_seed_same_forecast(denoised_model, make_sales_frame):
    again = GlobalForecaster(max_horizon=7, n_estimators=30, denoise_rank=1).fit(
        make_sales_frame(days=70, noise=1.0, seed=5)
    )
    np.testing.assert_array_equal(again.mean_, denoised_model.mean_)


def test_default_is_off_and_unchanged(make_sales_frame):
    sales = make_sales_frame(days=70, noise=1.0, seed=5)
    assert GlobalForecaster().denoise_rank is None
    default = GlobalForecaster(max_horizon=7, n_estimators=30).fit(sales)
    explicit = GlobalForecaster(max_horizon=7, n_estimators=30, denoise_rank=None).fit(sales)
    assert denoise.FEATURE not in default.feature_names_ and "lag7" in default.feature_names_
    np.testing.assert_array_equal(default.mean_, explicit.mean_)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "5"])
def test_bad_rank_is_named(make_sales_frame, value):
    with pytest.raises(InvalidInputError, match="denoise_rank"):
        GlobalForecaster(denoise_rank=value).fit(make_sales_frame())
