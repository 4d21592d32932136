"""forecasting.selection and forecasting.blend: origins sized to the history, per-store choices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import blend, selection
from forecasting.global_model import GlobalForecaster
from forecasting.panel import build_panel
from models.errors import InvalidInputError


def _panel(days: int):
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    sales = pd.DataFrame({"item_id": "a", "store_id": "s1", "date": dates, "quantity": 1.0})
    return build_panel(sales)


def _plan(days: int) -> selection.Origins:
    return selection.plan(
        _panel(days), horizon=28, season=7, holdout_history=50, max_holdout=2, max_validation=3
    )


def test_the_number_of_origins_grows_with_history_up_to_the_caps():
    counts = [(len(o.validation), len(o.holdout)) for o in map(_plan, (60, 80, 100, 120, 150, 200, 400))]
    assert counts == [(0, 0), (0, 1), (1, 1), (2, 1), (2, 2), (3, 2), (3, 2)]
    totals = [v + h for v, h in counts]
    assert totals == sorted(totals)


def test_origins_are_a_horizon_apart_and_validation_comes_before_the_holdout():
    panel = _panel(200)
    origins = _plan(200)
    cutoffs = [*origins.validation, *origins.holdout]
    assert cutoffs == sorted(cutoffs)
    assert all((b - a).days == 28 for a, b in zip(cutoffs, cutoffs[1:], strict=False))
    assert origins.holdout[-1] == panel.dates[-1 - 28]  # the last window ends with the sales


def test_candidates_are_blends_in_quarters_simplest_first():
    found = blend.candidates(["lgbm", "naive", "regression"])
    assert len(found) == 15 and all(sum(c.values()) == pytest.approx(1.0) for c in found)
    assert found[:3] == [{"naive": 1.0}, {"regression": 1.0}, {"lgbm": 1.0}]
    assert len(blend.candidates(list(blend.COMPONENTS))) == 35


def _validation(
    parts: dict[str, np.ndarray], actual: np.ndarray, stores: list[str]
) -> selection.ValidationSet:
    return selection.ValidationSet([], np.array(stores), actual, np.ones_like(actual), parts, clip=True)


def test_each_store_takes_the_component_that_was_right_for_it():
    actual = np.array([[1.0, 2.0], [10.0, 20.0], [5.0, 5.0]])
    naive = np.array([[1.0, 2.0], [0.0, 0.0], [5.0, 6.0]])  # exact for s1
    lgbm = np.array([[3.0, 3.0], [10.0, 20.0], [4.0, 4.0]])  # exact for s2
    validation = _validation({"naive": naive}, actual, ["s1", "s2", "s3"])
    choice = selection.choose(validation, lgbm, blend.candidates(["naive", "lgbm"]))
    assert choice.weights["s1"] == {"naive": 1.0} and choice.weights["s2"] == {"lgbm": 1.0}
    assert choice.weights["s3"] == {"naive": 0.5, "lgbm": 0.5}  # 4.5 and 5: |err| 0.5 + 1 beats 1 + 2
    assert choice.weights["*"] == {"lgbm": 1.0}  # over all stores the model errs least
    assert choice.score == pytest.approx(0.5 / 43)
    assert choice.scores["naive 1"] == pytest.approx(31 / 43)


def test_a_tie_goes_to_the_seasonal_naive():
    actual = np.array([[1.0, 2.0]])
    validation = _validation({"naive": actual.copy(), "regression": actual.copy()}, actual, ["s1"])
    choice = selection.choose(validation, actual.copy(), blend.candidates(["naive", "regression", "lgbm"]))
    assert choice.weights["s1"] == {"naive": 1.0}


def test_served_forecasts_follow_each_stores_blend(make_sales_frame):
    sales = make_sales_frame(120, noise=1.0)
    weights = {"s1": {"naive": 1.0}, "*": {"lgbm": 0.5, "regression": 0.5}}
    model = GlobalForecaster(max_horizon=14, n_estimators=30, blend_weights=weights).fit(sales)
    panel = build_panel(sales)
    naive = blend.components(panel, 14, ["naive"])["naive"]
    rows = np.flatnonzero(panel.store_ids == "s1")
    np.testing.assert_allclose(model.mean_[rows], np.maximum(naive[rows], 0.0))
    other = np.flatnonzero(panel.store_ids != "s1")
    assert not np.allclose(model.mean_[other], naive[other])
    assert (model.lower_ <= model.mean_).all() and (model.mean_ <= model.upper_).all()


def test_save_load_keeps_the_blends_and_the_forecasts(make_sales_frame, tmp_path):
    sales = make_sales_frame(120, noise=1.0)
    weights = {"s1": {"naive": 0.25, "lgbm": 0.75}, "s2": {"regression": 1.0}, "*": {"lgbm": 1.0}}
    model = GlobalForecaster(max_horizon=14, n_estimators=30, blend_weights=weights).fit(sales)
    from models.loader import load_model

    loaded = load_model(model.save(tmp_path / "m"), family="forecasting")
    assert loaded.blend_weights == weights
    pd.testing.assert_frame_equal(loaded.predict(14), model.predict(14))
    assert loaded.forecast("a", store_id="s2", horizon=14) == model.forecast("a", store_id="s2", horizon=14)


@pytest.mark.parametrize(
    "weights",
    [{"s1": {"naive": 0.5}}, {"s1": {"arima": 1.0}}, {"s1": {"naive": 1.5, "lgbm": -0.5}}, {}, "naive"],
)
def test_bad_blend_weights_are_refused_naming_the_parameter(weights, make_sales_frame):
    with pytest.raises(InvalidInputError, match="blend_weights") as err:
        GlobalForecaster(max_horizon=14, blend_weights=weights).fit(make_sales_frame(120))
    assert err.value.field == "blend_weights"
