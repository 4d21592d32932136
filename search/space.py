"""The settings a store's search training job searches (``training.tuning``), beside the model.

``suggest(trial, fields=...)`` names each searched setting once and maps the trial's values onto
``HybridSearch`` keyword arguments; ``trial_values(params, fields=...)`` maps the other way, so the
model's own defaults can be the first trial. Only ``trial.suggest_*`` calls: no optuna import here.

Searched: BM25's ``k1`` and ``b``; the weight (how many times its words count in an item's
bag) of each field that tells this catalog's items apart (:func:`searched_fields`: the title
always, brand, category, description and attributes when their text varies between items; the
others keep their default weight); the re-ranker on or off. The fusion weights are not in the
space: every trial's model picks them by ``HybridSearch.tune``'s grid on the trial's tuning
queries, as the job does without a search.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from search.hybrid import DEFAULT_FIELD_WEIGHTS, HybridSearch
from search.keyword import FIELDS, field_texts

K1_RANGE = (0.3, 3.0)
B_RANGE = (0.0, 1.0)
WEIGHT_RANGES = {
    "title": (1, 5),
    "brand": (0, 3),
    "category": (0, 3),
    "description": (0, 3),
    "attributes": (0, 3),
}


def searched_fields(catalog: pd.DataFrame) -> tuple[str, ...]:
    """The title, plus every other field whose text is not the same for every item."""
    texts = field_texts(catalog)
    return ("title", *(f for f in FIELDS if f != "title" and texts[f].nunique() > 1))


def suggest(trial: Any, *, fields: tuple[str, ...] = FIELDS) -> dict[str, Any]:
    """One point of the search space as ``HybridSearch`` keyword arguments."""
    weights = dict(DEFAULT_FIELD_WEIGHTS)
    k1 = trial.suggest_float("k1", *K1_RANGE, log=True)
    b = trial.suggest_float("b", *B_RANGE)
    for name in fields:
        weights[name] = trial.suggest_int(f"{name}_weight", *WEIGHT_RANGES[name])
    return {
        "k1": k1,
        "b": b,
        "field_weights": weights,
        "rerank": trial.suggest_categorical("rerank", (True, False)),
    }


def trial_values(params: dict[str, Any], *, fields: tuple[str, ...] = FIELDS) -> dict[str, Any]:
    """The trial values that ``suggest`` turns into ``params`` (``HybridSearch`` defaults filled in)."""
    merged = {**HybridSearch().get_params(), **params}
    weights = {**DEFAULT_FIELD_WEIGHTS, **(merged["field_weights"] or {})}
    return {
        "k1": float(merged["k1"]),
        "b": float(merged["b"]),
        **{f"{name}_weight": int(weights[name]) for name in fields},
        "rerank": bool(merged["rerank"]),
    }
