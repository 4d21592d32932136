"""Compiled forests (lleaves) score like LightGBM's own predictor."""

from __future__ import annotations

import pickle

import lightgbm as lgb
import numpy as np
import pytest

from trees.batch import TreeScorer


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2000, 8))
    x[rng.random(x.shape) < 0.15] = 0.0
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values follow each split's default side
    y = np.nan_to_num(x[:, 0]) * 2 + np.nan_to_num(x[:, 1]) ** 2 + rng.normal(size=len(x))
    return x, y


@pytest.fixture(scope="module")
def boosters() -> dict[str, lgb.Booster]:
    x, y = _data()
    groups = [20] * (len(x) // 20)
    grades = np.clip(np.round(y - y.min()), 0, 4).astype(int)
    base = {"verbose": -1, "num_leaves": 15, "seed": 0}
    data = {
        "regression": lgb.Dataset(x, y),
        "lambdarank": lgb.Dataset(x, grades, group=groups),
        "binary": lgb.Dataset(x, (y > 1).astype(int)),
    }
    return {kind: lgb.train({**base, "objective": kind}, d, 60) for kind, d in data.items()}


@pytest.mark.parametrize("kind", ["regression", "lambdarank", "binary"])
def test_compiled_scores_equal_lightgbm(boosters, kind: str) -> None:
    booster = boosters[kind]
    scorer = TreeScorer(booster).compile()
    assert scorer.is_compiled
    x, _ = _data(seed=1)
    expected = booster.predict(x, num_threads=1)
    got = scorer.predict(x)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # What a re-ranker uses the scores for: the same best-first order.
    assert np.array_equal(np.argsort(-got, kind="stable"), np.argsort(-expected, kind="stable"))


def test_non_contiguous_and_integer_input(boosters) -> None:
    booster, x = boosters["lambdarank"], _data(seed=2)[0]
    scorer = TreeScorer(booster)
    view = np.asfortranarray(x)[::2]  # neither C-contiguous nor the rows LightGBM was given
    np.testing.assert_allclose(scorer.predict(view), booster.predict(view), rtol=1e-12, atol=1e-12)
    ints = np.round(np.nan_to_num(x[:50])).astype(np.int64)
    np.testing.assert_allclose(scorer.predict(ints), booster.predict(ints), rtol=1e-12, atol=1e-12)


def test_lightgbm_fallback_and_pickling(boosters) -> None:
    booster, x = boosters["regression"], _data(seed=3)[0][:100]
    reference = TreeScorer(booster, compiled=False)
    assert not reference.compile().is_compiled
    np.testing.assert_array_equal(reference.predict(x), booster.predict(x, num_threads=1))
    compiled = TreeScorer(booster).compile()
    clone = pickle.loads(pickle.dumps(compiled))  # recompiles on first use
    np.testing.assert_array_equal(clone.predict(x), compiled.predict(x))
    assert clone.is_compiled
