"""What a family's training job hands back to the runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.evaluation import Evaluation
from training.tuning import TuningReport


@dataclass
class TrainResult:
    """A fitted model plus what the runner logs about it.

    Attributes:
        model: the fitted family object (has ``save(dir)``), refit on all data.
        metrics: holdout metrics of the model fit on the train split (``name -> value``),
            including the comparison baselines' rows prefixed ``baseline_`` where there are any.
        primary_metric: the key in ``metrics`` that decides promotion.
        greater_is_better: direction of ``primary_metric``.
        params: extra run parameters worth logging (split dates, sizes ...).
        evaluation: the primary metric case by case (shoppers, queries, transactions, series)
            for the model (row ``"model"``) and its baselines: what the bootstrap intervals and
            the promotion gate (``models.gate``) are computed from.
        baselines: the rows of ``evaluation`` the model must beat beyond noise to be promoted.
        tuning: the settings search on the store's validation split, when one ran.
    """

    model: Any
    metrics: dict[str, float]
    primary_metric: str
    greater_is_better: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    baselines: tuple[str, ...] = ()
    tuning: TuningReport | None = None
