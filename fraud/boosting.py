"""The one LightGBM training call both fraud models make (same base settings, their own extras)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np


def train_binary_booster(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    feature_names: Sequence[str],
    categorical: Sequence[str],
    n_estimators: int,
    learning_rate: float,
    num_leaves: int,
    min_child_samples: int,
    n_jobs: int,
    random_state: int,
    **extra: Any,
) -> lgb.Booster:
    """A deterministic binary booster; ``extra`` adds LightGBM params (e.g. ``lambda_l2``)."""
    params = {
        "objective": "binary",
        "learning_rate": learning_rate,
        "num_leaves": num_leaves,
        "min_data_in_leaf": min_child_samples,
        "seed": random_state,
        "deterministic": True,
        "force_row_wise": True,
        # One thread by default: OpenMP threads spin-wait, so on a busy machine a team of
        # threads waits on itself instead of working.
        "num_threads": n_jobs,
        "verbose": -1,
        **extra,
    }
    data = lgb.Dataset(
        features,
        label=labels,
        feature_name=list(feature_names),
        categorical_feature=list(categorical),
        params={"verbose": -1},
    )
    return lgb.train(params, data, num_boost_round=n_estimators)
