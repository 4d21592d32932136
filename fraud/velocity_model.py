"""Real-time fraud scoring: LightGBM on velocity/history features plus raw columns, calibrated.

Inputs per transaction: the raw columns of ``fraud.columns`` (amount, numbers, low-cardinality
categories, hour and weekday; any other datetime column becomes its age in seconds at
transaction time) plus the per-entity features of ``fraud.velocity``, computed by the same
module in bulk for training and from ``fraud.online_state`` when serving.

Training (``fit``), by time: the booster learns on the older rows; the newest
``validation_fraction`` of the time span, after a label-delay gap, is scored out of sample to fit
the calibration map (``fraud.calibration``) and the review/decline thresholds
(``fraud.thresholds``) on calibrated scores. The booster is not refit on the validation window,
so the calibration map matches the booster it is applied to.

Class imbalance (about 1 % fraud) is handled on purpose, not by resampling: the loss keeps its
natural weights by default (``scale_pos_weight=1``), so raw scores stay close to probabilities and
the ranking is not distorted by duplicated frauds; ``min_child_samples`` and L2 regularisation
stop leaves from fitting a handful of frauds; calibration then fixes the scale; and the decision
thresholds are set on calibrated out-of-time scores for a review budget and a decline precision,
which is where the imbalance actually bites.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, overload

import lightgbm as lgb
import numpy as np
import pandas as pd

from fraud.attribution import PathAttribution
from fraud.baseline import _labels
from fraud.boosting import train_binary_booster
from fraud.calibration import apply_calibration, fit_calibration
from fraud.checks import EPOCH, check_transaction
from fraud.columns import AMOUNT, TIMESTAMP
from fraud.entities import discover_entities
from fraud.features import TransactionFeatures, frame_seconds
from fraud.idempotency import replay, request_fingerprint
from fraud.online_state import FraudState
from fraud.rules import RuleSet
from fraud.thresholds import decision_thresholds, decisions
from fraud.types import APPROVE, FraudScore, TransactionField
from fraud.velocity import DAY, HOUR, VelocityConfig, entity_values
from models.artifact import check_is_fitted
from models.base import ModelBase
from models.errors import ArtifactError, DataValidationError, InvalidInputError
from models.frames import require_columns
from trees.single_row import SingleRowPredictor

MODEL_FILE = "model.txt"
GAP_FRACTION = 0.05  # of the time span: caps the label-delay gap on short data sets


class VelocityFraudModel(ModelBase):
    """Calibrated LightGBM on velocity features; see the module docstring.

    Args:
        entities: entity columns for velocity features; None = found in the training frame by
            ``fraud.entities.discover_entities`` (``customer_id``, then any id-like column whose
            values repeat: a card, device, IP address, e-mail ..., whatever it is called).
        pairs: ``[a, b]`` pairs flagging a new ``b`` for this ``a``; None = first entity with each other.
        windows_h: velocity windows in hours.
        risk_windows_d: fraud-rate windows in days.
        label_delay_d: days before a label counts as known (features and the training gap).
        n_estimators, learning_rate, num_leaves, min_child_samples, reg_lambda: LightGBM.
        scale_pos_weight: weight of fraud rows in the loss (1 = natural; see the module docstring).
        calibration: ``platt`` or ``isotonic``.
        validation_fraction: newest share of the time span used for calibration and thresholds.
        review_rate: share of traffic for manual review. decline_precision: target of declines.
        max_categories: string columns with more values are not raw features.
        max_future_s: tolerance for timestamps ahead of the server clock when scoring online.
        explain: ``always`` gives reasons for every score; ``flagged`` only for review/decline.
        attribution: how reasons rank features: ``path`` (decision-path contributions, ~0.1 ms;
            ``fraud.attribution``) or ``treeshap`` (LightGBM's exact TreeSHAP, ~2 ms per score
            with the defaults).
        n_jobs: LightGBM threads for training. random_state: LightGBM seed.
    """

    family = "fraud"
    model_type = "lgbm_velocity"
    format_version = 1
    uses_online_state = True  # serving passes its FraudState to ``score``

    booster_: lgb.Booster
    features_: TransactionFeatures
    config_: VelocityConfig
    feature_names_: list[str]
    calibration_: dict[str, Any]
    thresholds_: dict[str, Any]
    data_window_: dict[str, Any]
    entity_notes_: dict[str, str]  # column -> why it is not an entity (discovery only)

    def __init__(
        self,
        *,
        entities: list[str] | None = None,
        pairs: list[list[str]] | None = None,
        windows_h: list[float] = (1, 24, 168, 720),  # type: ignore[assignment]
        risk_windows_d: list[float] = (7, 30),  # type: ignore[assignment]
        label_delay_d: float = 7.0,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        reg_lambda: float = 1.0,
        scale_pos_weight: float = 1.0,
        calibration: str = "platt",
        validation_fraction: float = 0.25,
        review_rate: float = 0.02,
        decline_precision: float = 0.9,
        max_categories: int = 50,
        max_future_s: float = 300.0,
        explain: str = "always",
        attribution: str = "path",
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.entities = entities
        self.pairs = pairs
        self.windows_h = windows_h
        self.risk_windows_d = risk_windows_d
        self.label_delay_d = label_delay_d
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.scale_pos_weight = scale_pos_weight
        self.calibration = calibration
        self.validation_fraction = validation_fraction
        self.review_rate = review_rate
        self.decline_precision = decline_precision
        self.max_categories = max_categories
        self.max_future_s = max_future_s
        self.explain = explain
        self.attribution = attribution
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, transactions: pd.DataFrame, *, history: pd.DataFrame | None = None) -> VelocityFraudModel:
        """Build features, train the booster, fit calibration and thresholds (module docstring).

        Args:
            transactions: labelled transactions to learn from.
            history: earlier transactions that only give context to the velocity features (they
                are not trained on); their ``is_fraud`` labels count after the label delay.

        Raises:
            DataValidationError: a required or configured entity column is missing, or
                ``is_fraud`` is not 0/1 with both classes.
        """
        if self.attribution not in ("path", "treeshap"):
            raise InvalidInputError(
                f"attribution must be 'path' or 'treeshap', got {self.attribution!r}", field="attribution"
            )
        require_columns(transactions, (TIMESTAMP, AMOUNT, "is_fraud"), name="transactions")
        labels = _labels(transactions["is_fraud"])
        self.config_ = self._config(transactions)
        self.features_ = TransactionFeatures.infer(
            transactions, self.config_, max_categories=self.max_categories
        )
        self.feature_names_ = self.features_.names
        times = frame_seconds(transactions[TIMESTAMP])
        features = self._context_matrix(transactions, history)
        train, valid = self._split(times, labels)
        self.booster_ = self._train(features[train], labels[train])
        raw_valid = np.asarray(self.booster_.predict(features[valid]))
        self.calibration_ = fit_calibration(raw_valid, labels[valid], method=self.calibration)
        calibrated = apply_calibration(self.calibration_, raw_valid)
        self.thresholds_ = decision_thresholds(
            labels[valid], calibrated, review_rate=self.review_rate, decline_precision=self.decline_precision
        )
        stamps = pd.to_datetime(transactions[TIMESTAMP])
        self.data_window_ = {
            "start": stamps.min().isoformat(),
            "end": stamps.max().isoformat(),
            "rows": int(len(transactions)),
            "train_rows": int(train.sum()),
            "validation_rows": int(valid.sum()),
            "validation_start": (EPOCH + pd.Timedelta(seconds=float(times[valid].min()))).isoformat(),
        }
        return self

    def _config(self, frame: pd.DataFrame) -> VelocityConfig:
        if self.entities is None:
            found = discover_entities(frame, max_categories=self.max_categories)
            entities, self.entity_notes_ = list(found.entities), dict(found.skipped)
        else:
            entities, self.entity_notes_ = list(self.entities), {}
        require_columns(frame, tuple(entities), name="transactions")
        pairs = self.pairs if self.pairs is not None else [[entities[0], e] for e in entities[1:]]
        return VelocityConfig(
            entities=tuple(entities),
            windows=tuple(float(h) * HOUR for h in self.windows_h),
            risk_windows=tuple(float(d) * DAY for d in self.risk_windows_d),
            label_delay=float(self.label_delay_d) * DAY,
            pairs=tuple((str(a), str(b)) for a, b in pairs),
        )

    def _split(self, times: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Older rows to train on, newest window to calibrate on, a label-delay gap between."""
        start, end = float(times.min()), float(times.max())
        span = end - start
        valid_start = start + span * (1 - self.validation_fraction)
        gap = min(self.config_.label_delay, span * GAP_FRACTION)
        train, valid = times < valid_start - gap, times >= valid_start
        for name, part in (("training", train), ("validation", valid)):
            if len(np.unique(labels[part])) < 2:
                raise DataValidationError(
                    f"The {name} window of the fit ({int(part.sum())} rows) lacks fraud or genuine "
                    "transactions; calibration needs both in the newest "
                    f"{self.validation_fraction:.0%} of the time span",
                    column="is_fraud",
                )
        return train, valid

    def _train(self, features: np.ndarray, labels: np.ndarray) -> lgb.Booster:
        return train_binary_booster(
            features,
            labels,
            feature_names=self.feature_names_,
            categorical=self.features_.spec.categorical,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            lambda_l2=self.reg_lambda,
            scale_pos_weight=self.scale_pos_weight,
        )

    def predict_proba(self, transactions: pd.DataFrame, *, history: pd.DataFrame | None = None) -> np.ndarray:
        """Calibrated fraud probabilities of ``transactions``, with ``history`` as earlier context.

        Features see every row of ``history`` and ``transactions`` before each transaction;
        labels (``is_fraud``, absent = genuine) count only after the label delay.
        """
        check_is_fitted(self, ("booster_",))
        require_columns(transactions, (TIMESTAMP, AMOUNT), name="transactions")
        features = self._context_matrix(transactions, history)
        return apply_calibration(self.calibration_, np.asarray(self.booster_.predict(features)))

    def _context_matrix(self, transactions: pd.DataFrame, history: pd.DataFrame | None) -> np.ndarray:
        """Feature rows of ``transactions``, computed over ``history`` + ``transactions``."""
        both = transactions if history is None else pd.concat([history, transactions], ignore_index=True)
        labels = both["is_fraud"].fillna(0).to_numpy(float) if "is_fraud" in both.columns else None
        return self.features_.matrix(both, labels)[len(both) - len(transactions) :]

    # ------------------------------------------------------------------ online scoring
    @overload
    def score(
        self,
        transactions: Mapping[str, Any],
        *,
        state: FraudState | None = None,
        rules: RuleSet | None = None,
        now: float | None = None,
    ) -> FraudScore: ...
    @overload
    def score(
        self,
        transactions: Iterable[Mapping[str, Any]],
        *,
        state: FraudState | None = None,
        rules: RuleSet | None = None,
        now: float | None = None,
    ) -> list[FraudScore]: ...

    def score(
        self,
        transactions: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        *,
        state: FraudState | None = None,
        rules: RuleSet | None = None,
        now: float | None = None,
    ) -> FraudScore | list[FraudScore]:
        """Score one transaction (or a list, in order) against the online state, then record it.

        With a ``state``: a known ``transaction_id`` returns its stored answer unchanged and
        counts nothing; otherwise features come from the state, the answer is computed and the
        transaction is recorded. Invalid input raises before anything is recorded.

        Args:
            transactions: mapping(s) with ``timestamp``, ``amount`` and any raw/entity fields.
            state: the online state (None: no history, nothing recorded).
            rules: allow/block lists and rules applied after the model (block beats any score).
            now: current time, seconds since 1970 (default: the clock; future timestamps are
                rejected beyond ``max_future_s``).

        Raises:
            NotFittedError: before ``fit``/``load``. InvalidInputError: see ``fraud.checks``.
        """
        check_is_fitted(self, ("booster_",))
        if isinstance(transactions, Mapping):
            return self._score_one(transactions, state, rules, now)
        if isinstance(transactions, str | bytes) or not isinstance(transactions, Iterable):
            raise InvalidInputError(
                "transactions must be a mapping or a list of mappings", field="transactions"
            )
        return [self._score_one(tx, state, rules, now) for tx in transactions]

    def _score_one(
        self, tx: Mapping[str, Any], state: FraudState | None, rules: RuleSet | None, now: float | None
    ) -> FraudScore:
        if not isinstance(tx, Mapping):
            raise InvalidInputError(
                f"a transaction must be a mapping, got {type(tx).__name__}", field="transactions"
            )
        clock = now if now is not None else (_time.time() if state is not None else None)
        t, amount = check_transaction(tx, now=clock, max_future_s=self.max_future_s)
        tx_id = tx.get("transaction_id")
        body = request_fingerprint(tx)
        if state is not None and tx_id is not None and (stored := state.recall(str(tx_id))) is not None:
            return replay(str(tx_id), stored, body)
        row = self.features_.row(tx, t, amount, state)
        raw = self._fast().predict(row)
        prob = float(np.clip(apply_calibration(self.calibration_, np.array([raw]))[0], 0.0, 1.0))
        decision, rule = str(self.decide(np.array([prob]))[0]), None
        hit = rules.check(tx) if rules is not None else None
        if hit is not None:
            decision, rule = hit.decision, hit.rule
        # Reasons are a large share of a score's time; "flagged" explains only what a person reads.
        explained = self.explain == "always" or decision != APPROVE
        reasons = self._reasons(row, tx) if explained else []
        result = FraudScore(score=prob, decision=decision, reasons=reasons, rule=rule)
        if state is not None and tx_id is not None:
            answer = {
                "score": result.score,
                "decision": result.decision,
                "reasons": result.reasons,
                "rule": rule,
                "request": body,
            }
            state.record(str(tx_id), t, amount, entity_values(tx, self.config_.entities), answer)
        return result

    def _reasons(self, row: np.ndarray, tx: Mapping[str, Any]) -> list[str]:
        """Features raising this score most (TreeSHAP contributions to the log-odds), in words."""
        if self.attribution == "treeshap":
            contrib = np.asarray(self.booster_.predict(row[None, :], pred_contrib=True, num_threads=1))[
                0, :-1
            ]
        else:
            contrib = self._paths().from_leaves(self._fast().leaves(row))
        return self.features_.reasons(contrib, row, tx)

    def _paths(self) -> PathAttribution:
        """The booster's path-attribution table, built on first use (derived, never saved)."""
        return self._derived("_path_attribution", self.booster_, PathAttribution)

    def _fast(self) -> SingleRowPredictor:
        """The booster's one-row predictor (``trees.single_row``), built on first use."""
        return self._derived("_single_row", self.booster_, SingleRowPredictor)

    def input_fields(self) -> list[TransactionField]:
        """The transaction fields this model reads (required first), with the categories it knows."""
        check_is_fitted(self, ("booster_",))
        return self.features_.fields()

    def decide(self, scores: Any) -> np.ndarray:
        """Decline at or above ``thresholds_["decline"]``, review at or above ``["review"]``."""
        check_is_fitted(self, ("thresholds_",))
        return decisions(scores, self.thresholds_)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``meta.json`` (config, vocabularies, calibration, thresholds) and ``model.txt``."""
        check_is_fitted(self, ("booster_",))
        extra = {
            "features": self.features_.to_json(),
            "calibration": self.calibration_,
            "thresholds": self.thresholds_,
            "entities": {"used": list(self.config_.entities), "not_entities": self.entity_notes_},
        }
        path = self._write_meta(directory, extra=extra)
        self.booster_.save_model(str(path / MODEL_FILE))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> VelocityFraudModel:
        """Load a directory written by ``save``.

        Raises:
            ArtifactError: not a fraud/lgbm_velocity model of this format version, or no payload.
        """
        meta = cls._read_meta(directory)
        model_file = Path(directory) / MODEL_FILE
        if not model_file.is_file():
            raise ArtifactError(f"Missing payload {model_file}")
        extra = meta["extra"]
        model = cls(**meta["params"])
        model.booster_ = lgb.Booster(model_file=str(model_file))
        model.features_ = TransactionFeatures.from_json(extra["features"])
        model.config_ = model.features_.config
        model.feature_names_ = model.features_.names
        model.calibration_ = dict(extra["calibration"])
        model.thresholds_ = dict(extra["thresholds"])
        model.entity_notes_ = dict(extra.get("entities", {}).get("not_entities", {}))
        model.data_window_ = dict(meta.get("data_window", {}))
        return model
