"""The fraud baseline: LightGBM on the raw columns of each transaction.

No history features yet (velocity, customer/terminal risk): the model sees only what one
transaction carries (amount, numeric extras, hour and day of week, low-cardinality categories;
see ``fraud.columns``). It is the yardstick later feature work has to beat.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, overload

import lightgbm as lgb
import numpy as np
import pandas as pd

from fraud.boosting import train_binary_booster
from fraud.columns import AMOUNT, TIMESTAMP, FeatureSpec
from fraud.online_state import FraudState
from fraud.rules import RuleSet
from fraud.thresholds import decision_thresholds, decisions
from fraud.types import FraudScore, TransactionField
from models.artifact import check_is_fitted
from models.base import ModelBase
from models.errors import ArtifactError, DataValidationError, InvalidInputError
from models.frames import require_columns

MODEL_FILE = "model.txt"
# The newest share of the fit data (by time) on which decision thresholds are estimated.
CALIBRATION_FRACTION = 0.2
MAX_REASONS = 3


class RawFeatureFraudModel(ModelBase):
    """Gradient-boosted trees on raw transaction columns, with approve/review/decline thresholds.

    Args:
        n_estimators: boosting rounds.
        learning_rate: shrinkage per round.
        num_leaves: leaves per tree.
        min_child_samples: fewest transactions in a leaf.
        review_rate: share of traffic sent to manual review (see ``fraud.thresholds``).
        decline_precision: precision the decline threshold must reach on calibration data.
        max_categories: string columns with more distinct values are not used.
        n_jobs: LightGBM threads for training (1 is fastest on a busy 2-core machine; -1 = all).
        random_state: seed of LightGBM.
    """

    family = "fraud"
    model_type = "lgbm_raw"
    uses_online_state = False  # ``score`` reads no history (fraud.interface)
    format_version = 1

    # Learned attributes exist only after fit/load (scikit-learn style): check_is_fitted reads them
    # with getattr(..., None), so an unfitted model raises NotFittedError.
    booster_: lgb.Booster
    spec_: FeatureSpec
    feature_names_: list[str]
    thresholds_: dict[str, Any]
    data_window_: dict[str, Any]

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        review_rate: float = 0.02,
        decline_precision: float = 0.9,
        max_categories: int = 50,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.review_rate = review_rate
        self.decline_precision = decline_precision
        self.max_categories = max_categories
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, transactions: pd.DataFrame) -> RawFeatureFraudModel:
        """Choose features, train the booster and set the decision thresholds.

        Thresholds come from out-of-time scores: a first booster is trained on the older 80 % of
        the rows and scores the newest 20 %; the thresholds chosen there are then applied to the
        final booster trained on all rows (same hyper-parameters, so a similar score scale). When
        the newest slice has no fraud, in-sample scores are used and ``thresholds_["source"]``
        says so.

        Args:
            transactions: normalised transactions with ``timestamp``, ``amount`` and ``is_fraud``.

        Returns:
            self.

        Raises:
            DataValidationError: a required column is missing, or ``is_fraud`` is not 0/1 with
                both classes present.
        """
        require_columns(transactions, (TIMESTAMP, AMOUNT, "is_fraud"), name="transactions")
        labels = _labels(transactions["is_fraud"])
        spec = FeatureSpec.infer(transactions, max_categories=self.max_categories)
        features = spec.matrix(transactions)
        stamps = pd.to_datetime(transactions[TIMESTAMP])
        booster = self._train(spec, features, labels)
        order = np.argsort(stamps.to_numpy(), kind="stable")
        source, calib_labels, calib_scores = self._calibration_scores(spec, features, labels, order, booster)
        thresholds = decision_thresholds(
            calib_labels, calib_scores, review_rate=self.review_rate, decline_precision=self.decline_precision
        )
        self.booster_, self.spec_, self.feature_names_ = booster, spec, list(spec.names)
        self.thresholds_ = {**thresholds, "source": source}
        self.data_window_ = {
            "start": stamps.min().isoformat(),
            "end": stamps.max().isoformat(),
            "rows": int(len(transactions)),
        }
        return self

    def _calibration_scores(
        self,
        spec: FeatureSpec,
        features: np.ndarray,
        labels: np.ndarray,
        order: np.ndarray,
        booster: lgb.Booster,
    ) -> tuple[str, np.ndarray, np.ndarray]:
        """Labels and scores to set thresholds on: out-of-time when possible, else in-sample."""
        cut = int(len(order) * (1 - CALIBRATION_FRACTION))
        early, late = order[:cut], order[cut:]
        if labels[late].any() and labels[early].any() and not labels[early].all():
            probe = self._train(spec, features[early], labels[early])
            return "out_of_time_slice", labels[late], np.asarray(probe.predict(features[late]))
        return "in_sample", labels, np.asarray(booster.predict(features))

    def _train(self, spec: FeatureSpec, features: np.ndarray, labels: np.ndarray) -> lgb.Booster:
        return train_binary_booster(
            features,
            labels,
            feature_names=spec.names,
            categorical=spec.categorical,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )

    # ------------------------------------------------------------------ query
    @overload
    def score(
        self,
        transactions: Mapping[str, Any],
        *,
        state: FraudState | None = None,
        rules: RuleSet | None = None,
    ) -> FraudScore: ...
    @overload
    def score(
        self,
        transactions: Iterable[Mapping[str, Any]],
        *,
        state: FraudState | None = None,
        rules: RuleSet | None = None,
    ) -> list[FraudScore]: ...

    def score(
        self, transactions: Any, *, state: FraudState | None = None, rules: RuleSet | None = None
    ) -> FraudScore | list[FraudScore]:
        """Score one transaction (a mapping) or a batch (a list of mappings).

        Optional fields may be absent or None (treated as missing); unknown categories are missing.

        Args:
            transactions: a mapping with at least ``amount``, or a sequence of such mappings.
            state: accepted for the common interface (``fraud.interface``) and ignored: this model
                reads no history, so nothing is recorded.
            rules: allow/block lists and rules that decide before the model's thresholds
                (``fraud.rules``; the hit is reported in ``FraudScore.rule``).

        Returns:
            A ``FraudScore``, or a list of them in input order for a batch.

        Raises:
            NotFittedError: before ``fit``/``load``.
            InvalidInputError: ``amount`` absent, not a number or negative (``field="amount"``),
                a numeric field that is not a number, or an unparseable ``timestamp``.
        """
        del state
        check_is_fitted(self, ("booster_",))
        if isinstance(transactions, Mapping):
            return self._score_rows([transactions], rules)[0]
        if isinstance(transactions, str | bytes) or not isinstance(transactions, Iterable):
            raise InvalidInputError(
                f"transactions must be a mapping or a list of mappings, got {type(transactions).__name__}",
                field="transactions",
            )
        items = list(transactions)
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise InvalidInputError(
                    f"transactions[{i}] must be a mapping, got {type(item).__name__}", field="transactions"
                )
        return self._score_rows(items, rules) if items else []

    def _score_rows(self, items: list[Mapping[str, Any]], rules: RuleSet | None) -> list[FraudScore]:
        spec = self.spec_
        rows = np.empty((len(items), len(spec.names)))
        for i, item in enumerate(items):
            try:
                rows[i] = spec.row(item)
            except InvalidInputError as exc:
                if len(items) == 1:
                    raise
                raise InvalidInputError(
                    f"transactions[{i}]: {exc}", field=exc.field, value=exc.value
                ) from exc
        # One row gains nothing from OpenMP threads but pays their start-up; batches split rows.
        threads = 1 if len(items) == 1 else 0
        probs = np.asarray(self.booster_.predict(rows, num_threads=threads))
        decided = self.decide(probs)
        # SHAP values (TreeSHAP: most of the scoring time) explain the raw margin; the last column
        # is the expected value (bias).
        contribs = np.asarray(self.booster_.predict(rows, pred_contrib=True, num_threads=threads))[:, :-1]
        results = []
        for i, prob in enumerate(probs):
            top = np.argsort(-contribs[i], kind="stable")[:MAX_REASONS]
            reasons = [spec.describe(j, float(rows[i, j]), items[i]) for j in top if contribs[i, j] > 0]
            hit = rules.check(items[i]) if rules is not None else None
            decision, rule = (hit.decision, hit.rule) if hit is not None else (str(decided[i]), None)
            score = min(max(float(prob), 0.0), 1.0)
            results.append(FraudScore(score=score, decision=decision, reasons=reasons, rule=rule))
        return results

    def input_fields(self) -> list[TransactionField]:
        """The transaction fields this model reads (required first), with the categories it knows."""
        check_is_fitted(self, ("booster_",))
        return self.spec_.fields()

    def decide(self, scores: Any) -> np.ndarray:
        """Decisions for fraud probabilities: decline at or above ``thresholds_["decline"]``,
        review at or above ``thresholds_["review"]``, approve below.

        Raises:
            NotFittedError: before ``fit``/``load``.
        """
        check_is_fitted(self, ("thresholds_",))
        return decisions(scores, self.thresholds_)

    def predict_proba(self, transactions: pd.DataFrame, *, history: pd.DataFrame | None = None) -> np.ndarray:
        """Fraud probabilities of a transactions frame, shape (rows,), for evaluation.

        ``history`` (earlier transactions) is accepted for the common API and not used: the
        raw-column model reads each row alone.

        Raises:
            NotFittedError: before ``fit``/``load``.
            DataValidationError: ``amount`` is missing, not numeric or negative.
        """
        del history
        check_is_fitted(self, ("booster_",))
        require_columns(transactions, (AMOUNT,), name="transactions")
        return np.asarray(self.booster_.predict(self.spec_.matrix(transactions)))

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``meta.json`` (features, vocabularies, thresholds in ``extra``) and ``model.txt``."""
        check_is_fitted(self, ("booster_",))
        path = self._write_meta(
            directory, extra={"features": self.spec_.to_json(), "thresholds": self.thresholds_}
        )
        self.booster_.save_model(str(path / MODEL_FILE))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> RawFeatureFraudModel:
        """Load a directory written by ``save``.

        Raises:
            ArtifactError: not a fraud/lgbm_raw model of this format version, or a missing payload.
        """
        meta = cls._read_meta(directory)
        model_file = Path(directory) / MODEL_FILE
        if not model_file.is_file():
            raise ArtifactError(f"Missing payload {model_file}")
        model = cls(**meta["params"])
        model.booster_ = lgb.Booster(model_file=str(model_file))
        model.spec_ = FeatureSpec.from_json(meta["extra"]["features"])
        model.feature_names_ = list(model.spec_.names)
        model.thresholds_ = dict(meta["extra"]["thresholds"])
        model.data_window_ = dict(meta.get("data_window", {}))
        return model


def _labels(column: pd.Series) -> np.ndarray:
    """``is_fraud`` as a 0/1 int array with both classes, or a DataValidationError."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(float, na_value=math.nan)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise DataValidationError(
            "is_fraud must be 0 or 1 in every row", column="is_fraud", example=column[bad].iloc[0]
        )
    if values.min() == values.max():
        raise DataValidationError(
            f"is_fraud holds only {int(values[0])}s; fitting needs both fraud (1) and genuine (0) rows",
            column="is_fraud",
        )
    return values.astype(np.int8)
