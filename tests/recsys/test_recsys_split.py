"""The recsys job's holdout is sized to the data: enough shoppers, whatever the time layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.errors import DataValidationError
from training.jobs.recsys_split import MAX_EVAL_USERS, design_split

START = pd.Timestamp("2024-01-01")


def sequences(n_users=2000, *, layout="random", quiet_last_week=False, seed=0) -> pd.DataFrame:
    """Purchase sequences, one step a day: random start days over a year, or all ending on one day."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        n = int(rng.integers(5, 12))
        start = int(rng.integers(0, 365)) if layout == "random" else 400 - n
        if quiet_last_week and start + n > 393:
            start = 393 - n - int(rng.integers(0, 30))
        for step in range(n):
            rows.append(
                (
                    f"u{u}",
                    f"i{int(rng.integers(0, 300))}",
                    "purchase",
                    START + pd.Timedelta(days=start + step),
                )
            )
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])


CATALOG = {f"i{i}" for i in range(300)}


def test_shoppers_spread_over_a_year_fall_back_to_leave_last_out_with_every_shopper():
    events = sequences(layout="random")
    split = design_split(events, CATALOG)
    assert split.scheme == "last" and split.n_eligible >= 1900
    assert (
        0.95 * min(MAX_EVAL_USERS, split.n_eligible) <= len(split.cases) <= MAX_EVAL_USERS
    )  # repeats drop out
    for user, case in list(split.cases.items())[:50]:
        mine = events[events["user_id"] == user].sort_values("timestamp")
        assert case.relevant <= {mine["item_id"].iloc[-1]}
        assert split.train[split.train["user_id"] == user]["timestamp"].max() < mine["timestamp"].max()


def test_shoppers_who_end_together_get_a_time_split_on_the_last_step():
    split = design_split(sequences(layout="aligned"), CATALOG)
    assert split.scheme == "time" and len(split.cases) > 1500
    assert split.cutoff == START + pd.Timedelta(days=399)


def test_a_nearly_empty_last_week_still_evaluates_many_shoppers():
    events = sequences(quiet_last_week=True)
    last_week = events["timestamp"] > events["timestamp"].max() - pd.Timedelta(days=7)
    assert events.loc[last_week, "user_id"].nunique() < 50
    split = design_split(events, CATALOG)
    assert len(split.cases) > 1000


def test_a_tiny_store_evaluates_every_shopper_it_can():
    split = design_split(sequences(n_users=30), CATALOG)
    assert 25 <= len(split.cases) <= 30


def test_train_and_holdout_partition_the_events():
    events = sequences(n_users=500)
    split = design_split(events, CATALOG)
    assert len(split.train) + len(split.holdout) == len(events)


def test_nothing_to_evaluate_is_a_clear_error():
    views = sequences(n_users=50).assign(event_type="view")
    with pytest.raises(DataValidationError, match="cannot be evaluated"):
        design_split(views, CATALOG)
