"""The settings a store's recsys training job searches (``training.tuning``), beside the model.

``suggest(trial)`` names each searched setting once and maps the trial's values onto
``HybridRecommender`` keyword arguments; ``trial_values(params)`` maps the other way, so the
job's own defaults can be the first trial. Only ``trial.suggest_*`` calls: no optuna import here.

Searched: time decay (including none: a half-life of a million days), event-type weights, the
ALS factors / regularisation / alpha / iterations, the co-visitation window, which candidate
sources (the content neighbours on or off, candidates per source), the re-ranker on or off and
the share of the time span its label window covers.
"""

from __future__ import annotations

from typing import Any

from recsys.interactions import DEFAULT_EVENT_WEIGHTS

NO_DECAY = 1e6  # days: every event counts the same
HALF_LIVES = (3.0, 7.0, 14.0, 30.0, 90.0, 365.0, NO_DECAY)
FACTORS = (32, 64, 128)
PER_SOURCE = (20, 50, 100)


def suggest(trial: Any) -> dict[str, Any]:
    """One point of the search space as ``HybridRecommender`` keyword arguments."""
    return {
        "half_life_days": trial.suggest_categorical("half_life_days", HALF_LIVES),
        "event_weights": {
            "view": 1.0,
            "add_to_cart": trial.suggest_float("cart_weight", 1.0, 10.0, log=True),
            "purchase": trial.suggest_float("purchase_weight", 1.0, 20.0, log=True),
        },
        "factors": trial.suggest_categorical("factors", FACTORS),
        "regularization": trial.suggest_float("regularization", 1e-3, 1.0, log=True),
        "alpha": trial.suggest_float("alpha", 0.5, 50.0, log=True),
        "iterations": trial.suggest_int("iterations", 5, 25),
        "covisit_window": trial.suggest_int("covisit_window", 1, 10),
        "per_source": trial.suggest_categorical("per_source", PER_SOURCE),
        "use_content": trial.suggest_categorical("use_content", (True, False)),
        "rerank": trial.suggest_categorical("rerank", (True, False)),
        "rerank_fraction": trial.suggest_float("rerank_fraction", 1e-3, 0.5, log=True),
    }


def trial_values(params: dict[str, Any]) -> dict[str, Any]:
    """The trial values that ``suggest`` turns into ``params`` (``HybridRecommender`` defaults filled in)."""
    from recsys.hybrid import HybridRecommender  # lazy: the space is read without loading the model

    p = {**HybridRecommender().get_params(), **params}
    weights = {**DEFAULT_EVENT_WEIGHTS, **(p["event_weights"] or {})}
    return {
        "half_life_days": float(p["half_life_days"]),
        "cart_weight": float(weights["add_to_cart"]),
        "purchase_weight": float(weights["purchase"]),
        "factors": int(p["factors"]),
        "regularization": float(p["regularization"]),
        "alpha": float(p["alpha"]),
        "iterations": int(p["iterations"]),
        "covisit_window": int(p["covisit_window"]),
        "per_source": int(p["per_source"]),
        "use_content": bool(p["use_content"]),
        "rerank": bool(p["rerank"]),
        "rerank_fraction": float(min(max(p["rerank_fraction"], 1e-3), 0.5)),
    }
