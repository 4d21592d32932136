"""Train and evaluate the velocity fraud model on a store's labelled transactions.

The champion candidate is ``fraud.velocity_model.VelocityFraudModel``; the raw-column LightGBM
(``fraud.baseline``) is trained on the same split and reported as ``baseline_raw_*`` rows, the
"bigger amount is riskier" rule as ``baseline_amount_only_*``. The holdout scores of the model and
of the raw-column model, transaction by transaction, go into the run's ``Evaluation``: the
promotion gate (``models.gate``) promotes the model only when it beats the raw-column model
beyond bootstrap noise.

The holdout is designed in ``training.jobs.fraud_split``: the newest window of time that holds
enough frauds, after a label-delay gap. It depends on the data only, never on the seed, so runs
with other seeds are scored on the same transactions and the gate can compare them pair by pair.

With a time budget (``budget_s > 0``) the settings (which discovered columns are entities, the
velocity windows, the booster's size; ``fraud.space``) are searched on a validation split cut the
same way from the *training* part, so the holdout stays untouched for the gate; the model is then
refit with the chosen settings. Without a budget the model's defaults are used.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraud import space
from fraud.baseline import RawFeatureFraudModel
from fraud.calibration import brier_score, expected_calibration_error
from fraud.entities import discover_entities
from fraud.metrics import average_precision, card_precision_at_k, roc_auc
from fraud.types import DECLINE, REVIEW
from fraud.velocity_model import VelocityFraudModel
from models.errors import DataValidationError
from models.evaluation import Evaluation
from models.frames import require_columns
from training import progress
from training.jobs.base import Champion, Rescore, TrainResult, rescored
from training.jobs.fraud_split import (
    GAP_FRACTION,
    MAX_GAP,
    MAX_HOLDOUT_FRACTION,
    MIN_HOLDOUT_FRAUDS,
    MIN_TRAIN_FRAUDS,
    MIN_VALIDATION_FRAUDS,
    newest_window,
    time_split,
)
from training.store import StoreData
from training.tuning import TuningReport, tune

MAX_TRIALS = 40
# Investigators check about this share of a day's active customers (the Handbook's k=100 cards
# is ~2 % of its simulated daily customers); k is derived from the data and logged.
CARD_SHARE = 0.02
MAX_K = 100


def train(
    store: StoreData,
    *,
    seed: int,
    budget_s: float = 0.0,
    max_trials: int = MAX_TRIALS,
    champion: Champion | None = None,
) -> TrainResult:
    """Search settings (with a budget), fit on the older transactions, evaluate on the newest, refit.

    Args:
        store: the store's data; needs ``transactions`` with an ``is_fraud`` column.
        seed: random seed of the models and the settings search (not of the split).
        budget_s: seconds for the settings search; 0 uses the model's defaults.
        max_trials: most settings tried within the budget (the defaults are the first).
        champion: the served champion, re-scored on the holdout transactions after the end of
            its training data (with the same earlier history as context), when they hold at
            least ``MIN_HOLDOUT_FRAUDS`` frauds.

    Returns:
        The model refit on all transactions, holdout metrics (primary: ``average_precision``),
        the per-transaction ``Evaluation`` (rows ``model`` and ``raw``; the gate's baseline is
        ``raw``), the split as run parameters and the search's report.

    Raises:
        DataValidationError: no labelled transactions, or too few frauds for a trustworthy holdout.
    """
    tx = labelled_transactions(store)
    train_part, holdout, split = time_split(tx)
    candidates = discover_entities(train_part, max_categories=VelocityFraudModel().max_categories)
    clock = _Clock()
    if budget_s > 0:
        progress.stage("settings search", estimate_s=budget_s)
    with clock("search"):
        report, settings, search = search_settings(
            train_part, candidates.entities, seed=seed, budget_s=budget_s, max_trials=max_trials
        )
    progress.stage("fitting on the older transactions and scoring the holdout")
    with clock("fit_split"):
        model = VelocityFraudModel(random_state=seed, **settings).fit(train_part)
    metrics, evaluation, k = holdout_evaluation(model, tx, train_part, holdout, seed=seed)
    progress.stage("final fit on all transactions")
    with clock("fit_final"):
        final = VelocityFraudModel(random_state=seed, **settings).fit(tx)
    params = {
        **split,
        **search,
        "card_precision_k": k,
        "holdout_fraud_rate": float(holdout["is_fraud"].mean()),
        "entity_candidates": ",".join(candidates.entities),
        "not_entities": ",".join(candidates.skipped),
        **_model_params(final),
    }
    metrics |= {
        "n_eval_transactions": float(evaluation.n_cases),
        "n_eval_frauds": float(holdout["is_fraud"].sum()),
        "threshold_review": final.thresholds_["review"],
        "threshold_decline": final.thresholds_["decline"],
        **{f"seconds_{name}": round(value, 3) for name, value in clock.seconds.items()},
    }
    return TrainResult(
        final,
        metrics,
        primary_metric="average_precision",
        greater_is_better=True,
        params=params,
        evaluation=evaluation,
        baselines=("raw",),
        tuning=report,
        data_end=pd.to_datetime(tx["timestamp"]).max(),
        rescore=rescore_champion(champion, evaluation, tx, holdout) if champion is not None else None,
    )


def rescore_champion(
    champion: Champion, evaluation: Evaluation, tx: pd.DataFrame, holdout: pd.DataFrame
) -> Rescore:
    """The champion's scores on the holdout transactions newer than its training data."""
    keep = champion.after(pd.to_datetime(holdout["timestamp"]).to_numpy())
    frauds = int(holdout["is_fraud"].to_numpy()[keep].sum())
    if frauds < MIN_HOLDOUT_FRAUDS:
        return Rescore(
            champion.version,
            None,
            f"champion v{champion.version} was not re-scored: the holdout transactions newer than its "
            f"training data hold {frauds} frauds, fewer than the {MIN_HOLDOUT_FRAUDS} a comparison needs",
        )
    scores = champion.model.predict_proba(holdout, history=_history_before(tx, holdout))
    return rescored(champion, evaluation, keep, lambda subset: scores[keep])


def holdout_evaluation(
    model: VelocityFraudModel, tx: pd.DataFrame, train_part: pd.DataFrame, holdout: pd.DataFrame, *, seed: int
) -> tuple[dict[str, float], Evaluation, int]:
    """Holdout metrics of ``model`` and of the raw-column baseline (fit here on ``train_part``),
    their per-transaction ``Evaluation`` and the card-precision ``k``."""
    scores = model.predict_proba(holdout, history=_history_before(tx, holdout))
    metrics, k = evaluate(scores, model.decide, holdout)
    baseline = RawFeatureFraudModel(random_state=seed).fit(train_part)
    raw_scores = baseline.predict_proba(holdout)
    raw_metrics, _ = evaluate(raw_scores, baseline.decide, holdout)
    metrics |= {
        f"baseline_raw_{name}": value for name, value in raw_metrics.items() if "amount_only" not in name
    }
    evaluation = Evaluation(
        case_ids=holdout["transaction_id"].astype(str).to_numpy(),
        rows={"model": scores, "raw": raw_scores},
        kind="average_precision",
        greater_is_better=True,
        labels=holdout["is_fraud"].to_numpy(np.int8),
        case_name="transactions",
    )
    return metrics, evaluation, k


def _history_before(tx: pd.DataFrame, holdout: pd.DataFrame) -> pd.DataFrame:
    """Every transaction before the holdout (train rows and the gap): the context holdout
    features see, as serving would."""
    return tx[pd.to_datetime(tx["timestamp"]) < pd.to_datetime(holdout["timestamp"]).min()]


class _Clock:
    """``with clock("name"):`` adds the block's wall time to ``clock.seconds["name"]``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def labelled_transactions(store: StoreData) -> pd.DataFrame:
    """The store's transactions, checked for the label and the columns the job reads."""
    tx = store.transactions
    if missing := store.missing_for("fraud"):
        raise DataValidationError(
            f"The fraud job needs transactions with an is_fraud label column; missing: {', '.join(missing)}",
            file="transactions",
            column="is_fraud",
        )
    assert tx is not None  # missing_for checked it
    # customer_id is not a model feature, but card precision counts customers.
    require_columns(tx, ("timestamp", "customer_id", "amount", "transaction_id"), name="transactions")
    return tx


def _model_params(final: VelocityFraudModel) -> dict[str, Any]:
    return {
        "entities": ",".join(final.config_.entities),
        "label_delay_days": final.label_delay_d,
        "n_features": len(final.feature_names_),
        "calibration": final.calibration_["method"],
        "threshold_review": final.thresholds_["review"],
        "threshold_decline": final.thresholds_["decline"],
        "threshold_decline_precision_reached": str(final.thresholds_["decline_precision_reached"]),
        "review_budget": final.review_rate,
        "decline_precision_target": final.decline_precision,
    }


def search_settings(
    train_part: pd.DataFrame, entities: tuple[str, ...], *, seed: int, budget_s: float, max_trials: int
) -> tuple[TuningReport | None, dict[str, Any], dict[str, Any]]:
    """Search the model's settings on a validation split of ``train_part`` within ``budget_s``.

    Returns:
        (the report or None, the chosen ``VelocityFraudModel`` keyword arguments (empty: the
        defaults), run parameters describing the validation split or why nothing was searched).
    """
    if budget_s <= 0:
        return None, {}, {"settings_search": "off (no time budget)"}
    split = validation_split(train_part, seed=seed)
    if isinstance(split, str):
        return None, {}, {"settings_search": split}
    objective, described = split
    try:
        report = tune(
            objective,
            functools.partial(space.suggest, entities=entities),
            direction="maximize",
            budget_s=budget_s,
            max_trials=max_trials,
            seed=seed,
            defaults=space.defaults(entities),
            metric="average_precision",
            n_cases=len(objective.valid),
        )
    except ValueError as exc:  # no trial completed: train with the defaults, and say why
        return None, {}, {"settings_search": f"failed ({exc}); the defaults are used"}
    return report, space.settings(report.best_params, entities), described


@dataclass
class ValidationObjective:
    """Validation AP of one settings dict: fit on ``fit_part``, score ``valid`` after ``context``.

    A plain object (not a closure), so a settings search can ship it to Dask workers.
    """

    fit_part: pd.DataFrame
    valid: pd.DataFrame
    context: pd.DataFrame  # every training-part row before ``valid`` (the fit rows and the gap)
    seed: int

    def __call__(self, settings: dict[str, Any]) -> float:
        model = VelocityFraudModel(random_state=self.seed, **settings).fit(self.fit_part)
        scores = model.predict_proba(self.valid, history=self.context)
        return average_precision(self.valid["is_fraud"].to_numpy(int), scores)


def validation_split(
    train_part: pd.DataFrame, *, seed: int
) -> tuple[ValidationObjective, dict[str, Any]] | str:
    """The search's objective on the newest window of ``train_part`` (cut as the holdout is, with
    ``MIN_VALIDATION_FRAUDS``) and its description, or why the part is too small for one."""
    stamps = pd.to_datetime(train_part["timestamp"])
    labels = train_part["is_fraud"].to_numpy(int)
    valid_start, fraction = newest_window(stamps, labels, min_frauds=MIN_VALIDATION_FRAUDS)
    gap = min(MAX_GAP, (stamps.max() - stamps.min()) * GAP_FRACTION)
    fit_part = train_part[stamps < valid_start - gap]
    if fraction > MAX_HOLDOUT_FRACTION or int(fit_part["is_fraud"].sum()) < MIN_TRAIN_FRAUDS:
        return (
            f"skipped: the training part ({len(train_part)} rows, {int(labels.sum())} frauds) is too "
            f"small for a validation split with {MIN_VALIDATION_FRAUDS} frauds and "
            f"{MIN_TRAIN_FRAUDS} frauds before it; the defaults are used"
        )
    valid = train_part[stamps >= valid_start]
    objective = ValidationObjective(fit_part, valid, train_part[stamps < valid_start], seed)
    described = {
        "search_validation_start": valid_start.isoformat(),
        "search_validation_rows": len(valid),
        "search_validation_frauds": int(valid["is_fraud"].sum()),
        "search_fit_rows": len(fit_part),
    }
    return objective, described


def evaluate(scores: np.ndarray, decide: Any, holdout: pd.DataFrame) -> tuple[dict[str, float], int]:
    """Holdout metrics of ``scores`` (with ``decide`` mapping scores to decisions); returns (metrics, k)."""
    labels = holdout["is_fraud"].to_numpy(int)
    decisions = decide(scores)
    days = pd.to_datetime(holdout["timestamp"]).dt.normalize().to_numpy()
    daily_customers = holdout.groupby(days)["customer_id"].nunique()
    k = int(np.clip(round(CARD_SHARE * float(daily_customers.median())), 1, MAX_K))
    declined, flagged = decisions == DECLINE, decisions != "approve"
    amount = holdout["amount"].to_numpy(float)
    metrics = {
        "average_precision": average_precision(labels, scores),
        "roc_auc": roc_auc(labels, scores),
        "card_precision_at_k": card_precision_at_k(
            days, holdout["customer_id"].to_numpy(), labels, scores, k=k
        ),
        "brier": brier_score(labels, scores),
        "ece": expected_calibration_error(labels, scores),
        "decline_rate": float(declined.mean()),
        "review_rate": float((decisions == REVIEW).mean()),
        "decline_precision": float(labels[declined].mean()) if declined.any() else float("nan"),
        # Share of frauds stopped (declined) or sent to an analyst (reviewed) at the chosen thresholds.
        "recall_at_thresholds": float(flagged[labels == 1].mean()) if labels.any() else float("nan"),
        "precision_at_thresholds": float(labels[flagged].mean()) if flagged.any() else float("nan"),
        # The naive rule "bigger is riskier": the model must beat it to be worth serving.
        "baseline_amount_only_average_precision": average_precision(labels, amount),
        "baseline_amount_only_roc_auc": roc_auc(labels, amount),
    }
    return metrics, k
