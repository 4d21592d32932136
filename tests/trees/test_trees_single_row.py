"""The one-row C-API predictor answers exactly what Booster.predict answers."""

from __future__ import annotations

import copy
import pickle

import lightgbm as lgb
import numpy as np
import pytest

from fraud.attribution import PathAttribution
from trees.single_row import SingleRowPredictor


@pytest.fixture(scope="module")
def booster_and_rows() -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 12))
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values take each split's default side
    y = (np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 3]) + rng.normal(size=len(x)) > 1).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 15, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=80)
    return booster, x[:400]


def test_probabilities_and_leaves_equal_booster_predict(booster_and_rows) -> None:
    booster, rows = booster_and_rows
    fast = SingleRowPredictor(booster)
    assert fast.fast  # the C API path, not the fallback
    got = np.array([fast.predict(r) for r in rows])
    np.testing.assert_array_equal(got, booster.predict(rows))
    leaves = np.array([fast.leaves(r) for r in rows])
    np.testing.assert_array_equal(leaves, booster.predict(rows, pred_leaf=True))
    assert leaves.dtype == np.int64


def test_leaf_attribution_matches_the_batch_attribution(booster_and_rows) -> None:
    booster, rows = booster_and_rows
    fast, paths = SingleRowPredictor(booster), PathAttribution(booster)
    one = np.array([paths.from_leaves(fast.leaves(r)) for r in rows[:50]])
    np.testing.assert_allclose(one, paths.contributions(booster, rows[:50]), rtol=0, atol=1e-12)


def test_row_of_the_wrong_width_is_refused(booster_and_rows) -> None:
    booster, rows = booster_and_rows
    with pytest.raises(ValueError, match="expected a row of 12 features"):
        SingleRowPredictor(booster).predict(rows[0, :5])


def test_copies_and_fallback_answer_the_same(booster_and_rows) -> None:
    booster, rows = booster_and_rows
    fast = SingleRowPredictor(booster)
    expected = [fast.predict(r) for r in rows[:20]]
    clone = pickle.loads(pickle.dumps(fast))  # rebuilt from the booster, fresh C handles
    deep = copy.deepcopy(fast)
    fast.close()  # freed handles: falls back to Booster.predict
    assert not fast.fast
    for predictor in (clone, deep, fast):
        assert [predictor.predict(r) for r in rows[:20]] == expected
