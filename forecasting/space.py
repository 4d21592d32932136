"""The settings search space of ``GlobalForecaster`` (its LightGBM), for ``training.tuning.tune``.

Plain ``trial.suggest_*`` calls, so this package need not import Optuna. The defaults of every
setting live in ``GlobalForecaster.__init__`` and are the search's first trial; the ranges keep a
trial's fit within ~2x the default's time (``n_estimators`` up to 500, ``num_leaves`` up to 127).
"""

from __future__ import annotations

from typing import Any

KEYS = ("n_estimators", "learning_rate", "num_leaves", "min_child_samples")


def suggest(trial: Any) -> dict[str, Any]:
    """One trial's LightGBM settings (names as ``GlobalForecaster``'s hyper-parameters)."""
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 500, step=50),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.15, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 15, 127, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
    }
