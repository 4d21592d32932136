"""What a family's training job hands back to the runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    """

    model: Any
    metrics: dict[str, float]
    primary_metric: str
    greater_is_better: bool = True
    params: dict[str, Any] = field(default_factory=dict)
