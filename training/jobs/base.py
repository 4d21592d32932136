"""What a family's training job hands back to the pipeline (training.pipeline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.evaluation import Evaluation
from training.tuning import TuningReport

CHAMPION_ROW = "champion"


@dataclass(frozen=True)
class Champion:
    """The family's current champion, handed to a job to be re-scored on the new holdout.

    The served model itself is scored through its query method, on the evaluation cases it
    cannot have learned from: cases whose outcome starts after ``trained_until`` (the newest
    instant of the data it was fitted on) and, for families without time (search's judged
    queries), cases not among ``seen_cases``.

    Attributes:
        model: the champion, loaded as the server loads it.
        version: its registered version.
        trained_until: the newest timestamp of its training data (``None``: unknown, e.g. a
            version trained before this was recorded; then no time-ordered case is unseen).
        seen_cases: the case ids it was evaluated (and, once refit, trained) on.
    """

    model: Any
    version: str
    trained_until: pd.Timestamp | None = None
    seen_cases: frozenset[str] = frozenset()

    def after(self, since: Any) -> np.ndarray:
        """A mask: which cases, starting at the instants ``since``, are newer than its data."""
        starts = pd.to_datetime(pd.Series(np.asarray(since)))
        if self.trained_until is None:
            return np.zeros(len(starts), dtype=bool)
        return (starts > self.trained_until).to_numpy(dtype=bool)

    def unseen(self, case_ids: Any) -> np.ndarray:
        """A mask: which case ids it was not evaluated or trained on."""
        return np.fromiter((str(c) not in self.seen_cases for c in case_ids), dtype=bool)


@dataclass
class Rescore:
    """The new model and the champion on the same unseen cases, or why they could not be."""

    version: str
    evaluation: Evaluation | None  # rows "model", "champion" (and baselines); None: nothing scored
    note: str


def rescored(champion: Champion, evaluation: Evaluation, keep: np.ndarray, score: Any) -> Rescore:
    """Score ``champion`` on the cases ``keep`` of ``evaluation`` with ``score(subset) -> values``.

    ``score`` gets the subset evaluation (its ``case_ids`` say which cases) and returns the
    champion's per-case values in that order. Fewer unseen cases than the evaluation's minimum
    gives no re-score, with a note saying so.
    """
    n = int(np.count_nonzero(keep))
    what = evaluation.case_name
    if n < evaluation.min_cases:
        return Rescore(
            champion.version,
            None,
            f"champion v{champion.version} was not re-scored: {n} of the {evaluation.n_cases} evaluated "
            f"{what} are newer than its training data, fewer than the {evaluation.min_cases} a comparison "
            "needs",
        )
    subset = evaluation.subset(keep)
    return Rescore(
        champion.version,
        subset.with_row(CHAMPION_ROW, score(subset)),
        f"champion v{champion.version} re-scored on the {n} of {evaluation.n_cases} evaluated {what} "
        "newer than its training data",
    )


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
        data_end: the newest instant of the data the final model is fitted on (recorded in its
            ``meta.json``, so a later run knows which holdout cases it has not seen).
        rescore: the champion (when one was handed in) scored on the new holdout's unseen cases.
        figure_data: what the run's figures need beyond the evaluation (``training.figures``).
    """

    model: Any
    metrics: dict[str, float]
    primary_metric: str
    greater_is_better: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    baselines: tuple[str, ...] = ()
    tuning: TuningReport | None = None
    data_end: pd.Timestamp | None = None
    rescore: Rescore | None = None
    figure_data: dict[str, Any] = field(default_factory=dict)
