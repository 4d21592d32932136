"""Raw transaction columns -> the numeric matrix the fraud model sees, offline and online.

One ``FeatureSpec`` turns both a training frame (``matrix``) and a single request mapping
(``row``) into the same float64 layout, so training and serving cannot drift; a parity test checks
it. Categories are stored as integer codes of a saved vocabulary; a category the vocabulary does
not know, like a missing value, becomes NaN, which LightGBM treats as "missing".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fraud.types import TransactionField
from models.errors import DataValidationError, InvalidInputError

AMOUNT = "amount"
TIMESTAMP = "timestamp"
HOUR = "hour_of_day"
DOW = "day_of_week"
NUMERIC, CATEGORICAL = "numeric", "categorical"
# Columns the raw model never reads as features: keys, the label and the raw timestamp (it enters
# through hour/day-of-week instead).
RESERVED = frozenset({"transaction_id", "customer_id", TIMESTAMP, "is_fraud", HOUR, DOW})
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Feature:
    """One model input: ``kind`` is numeric, categorical, hour_of_day or day_of_week."""

    name: str
    kind: str
    vocabulary: tuple[str, ...] = ()


def _skip_reason(name: str, series: pd.Series, max_categories: int) -> str | None:
    """Why ``series`` cannot be a raw feature, or None when it can."""
    if name == "id" or name.endswith("_id"):
        # Raw ids memorise entities instead of learning patterns; velocity features use them later.
        return "identifier (never used raw)"
    if "fraud" in name.lower():
        return "named like the label; it would leak it (e.g. a simulator's fraud_scenario)"
    if ptypes.is_datetime64_any_dtype(series) or ptypes.is_timedelta64_dtype(series):
        return "datetime column: only the transaction timestamp is used (hour, day of week)"
    is_number = ptypes.is_bool_dtype(series) or ptypes.is_numeric_dtype(series)
    distinct = series.nunique(dropna=True) if is_number else series.dropna().astype(str).nunique()
    if distinct <= 1:
        return "constant column"
    if not is_number and distinct > max_categories:
        return f"high cardinality ({distinct} distinct values > max_categories={max_categories})"
    return None


def _number(value: Any, name: str, *, required: bool = False) -> float:
    """A request value as float; None/NaN is missing (NaN) unless ``required``."""
    if value is None:
        number = math.nan
    elif isinstance(value, bool | np.bool_) and not required:
        number = float(value)
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
    else:
        raise InvalidInputError(
            f"{name} must be a number, got {type(value).__name__} {value!r}", field=name, value=value
        )
    if required and not (math.isfinite(number) and number >= 0):
        raise InvalidInputError(
            f"{name} is required and must be a finite number >= 0, got {value!r}", field=name, value=value
        )
    return number


def _when(value: Any) -> datetime | None:
    """A request timestamp (datetime, numpy datetime64 or ISO-8601 string) as naive UTC."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        raise InvalidInputError(
            f"timestamp must be an ISO-8601 date-time or datetime, got {value!r}", field=TIMESTAMP
        )
    try:
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+00:01 falls before year 1 in UTC
        raise InvalidInputError(f"timestamp {value.isoformat()} is out of range", field=TIMESTAMP) from exc


class FeatureSpec:
    """The ordered model inputs chosen at fit time, with their category vocabularies."""

    def __init__(self, features: list[Feature], dropped: Mapping[str, str] | None = None) -> None:
        self.features = list(features)
        self.dropped = dict(dropped or {})
        self.names = [f.name for f in self.features]
        self.categorical = [f.name for f in self.features if f.kind == CATEGORICAL]
        # Precomputed per-feature lookups keep single-row building free of pandas.
        self._codes = {f.name: {v: float(i) for i, v in enumerate(f.vocabulary)} for f in self.features}

    @classmethod
    def infer(cls, frame: pd.DataFrame, *, max_categories: int) -> FeatureSpec:
        """Pick amount, numeric extras, hour/day of week and low-cardinality string columns."""
        numeric: list[Feature] = [Feature(AMOUNT, NUMERIC)]
        categorical: list[Feature] = []
        dropped: dict[str, str] = {}
        for name in frame.columns:
            if name in RESERVED or name == AMOUNT:
                continue
            series = frame[name]
            reason = _skip_reason(str(name), series, max_categories)
            if reason:
                dropped[str(name)] = reason
            elif ptypes.is_bool_dtype(series) or ptypes.is_numeric_dtype(series):
                numeric.append(Feature(str(name), NUMERIC))
            else:
                vocab = tuple(sorted(series.dropna().astype(str).unique()))
                categorical.append(Feature(str(name), CATEGORICAL, vocab))
        clock = [Feature(HOUR, HOUR), Feature(DOW, DOW)]
        return cls(numeric + clock + categorical, dropped)

    def fields(self, *, skip: tuple[str, ...] = ()) -> list[TransactionField]:
        """The request fields these features read: ``transaction_id``, ``timestamp``,
        ``customer_id`` and ``amount`` (required), then numeric and categorical extras."""
        out = [
            TransactionField("transaction_id", "id", required=True),
            TransactionField(TIMESTAMP, TIMESTAMP, required=True),
            TransactionField("customer_id", "id", required=True),
            TransactionField(AMOUNT, "number", required=True),
        ]
        for f in self.features:
            if f.name != AMOUNT and f.name not in skip and f.kind in (NUMERIC, CATEGORICAL):
                out.append(
                    TransactionField(
                        f.name, "number" if f.kind == NUMERIC else "category", values=f.vocabulary
                    )
                )
        return out

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The (rows, features) float64 matrix of a transactions frame; absent columns are NaN."""
        out = np.full((len(frame), len(self.features)), np.nan)
        amount = frame[AMOUNT]
        if not ptypes.is_numeric_dtype(amount) or ptypes.is_bool_dtype(amount):
            raise DataValidationError(f"amount must be numeric, got dtype {amount.dtype}", column=AMOUNT)
        bad = ~np.isfinite(amount.to_numpy(float)) | (amount.to_numpy(float) < 0)
        if bad.any():
            raise DataValidationError(
                "amount must be a finite number >= 0 in every row",
                column=AMOUNT,
                example=amount[bad].iloc[0],
            )
        stamps = _timestamps(frame)
        for j, feat in enumerate(self.features):
            if feat.kind == HOUR and stamps is not None:
                out[:, j] = stamps.dt.hour.to_numpy(float, na_value=np.nan)
            elif feat.kind == DOW and stamps is not None:
                out[:, j] = stamps.dt.dayofweek.to_numpy(float, na_value=np.nan)
            elif feat.name not in frame.columns or feat.kind in (HOUR, DOW):
                continue
            elif feat.kind == CATEGORICAL:
                col = frame[feat.name]
                codes = col.astype(str).map(self._codes[feat.name]).to_numpy(float, na_value=np.nan)
                codes[col.isna().to_numpy()] = np.nan
                out[:, j] = codes
            else:
                out[:, j] = pd.to_numeric(frame[feat.name], errors="coerce").to_numpy(float, na_value=np.nan)
        return out

    def row(self, tx: Mapping[str, Any]) -> np.ndarray:
        """One request mapping as a float64 vector (no DataFrame: this is the <1 ms path)."""
        row = np.full(len(self.features), np.nan)
        row[0] = _number(tx.get(AMOUNT), AMOUNT, required=True)
        when = _when(tx.get(TIMESTAMP))
        for j, feat in enumerate(self.features[1:], start=1):
            if feat.kind == CATEGORICAL:
                value = tx.get(feat.name)
                if value is not None and not (isinstance(value, float) and math.isnan(value)):
                    row[j] = self._codes[feat.name].get(str(value), math.nan)
            elif feat.kind == NUMERIC:
                row[j] = _number(tx.get(feat.name), feat.name)
            elif when is not None:
                row[j] = when.hour if feat.kind == HOUR else when.weekday()
        return row

    def describe(self, j: int, value: float, tx: Mapping[str, Any] | None = None) -> str:
        """A short human string for feature ``j`` holding ``value`` (used for reasons)."""
        feat = self.features[j]
        if math.isnan(value):
            raw = tx.get(feat.name) if tx is not None and feat.kind == CATEGORICAL else None
            if raw is not None and not (isinstance(raw, float) and math.isnan(raw)):
                return f"{feat.name}={raw} (unseen) raises risk"
            return f"{feat.name} missing raises risk"
        if feat.kind == CATEGORICAL:
            shown = feat.vocabulary[int(value)]
        elif feat.kind == DOW:
            shown = DAY_NAMES[int(value)]
        elif feat.name == AMOUNT:
            shown = f"{value:.2f}"
        else:
            shown = f"{value:g}"
        return f"{feat.name}={shown} raises risk"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description, the inverse of ``from_json``."""
        return {
            "features": [
                {"name": f.name, "kind": f.kind, "vocabulary": list(f.vocabulary)} for f in self.features
            ],
            "dropped": self.dropped,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Rebuild a spec saved by ``to_json``."""
        feats = [Feature(f["name"], f["kind"], tuple(f.get("vocabulary", ()))) for f in data["features"]]
        return cls(feats, data.get("dropped", {}))


def _timestamps(frame: pd.DataFrame) -> pd.Series | None:
    """The frame's timestamps as naive UTC datetimes, or None when the column is absent."""
    if TIMESTAMP not in frame.columns:
        return None
    stamps = frame[TIMESTAMP]
    if not ptypes.is_datetime64_any_dtype(stamps):
        try:
            stamps = pd.to_datetime(stamps, utc=True)
        except (ValueError, TypeError) as exc:
            raise DataValidationError(
                f"timestamp is not a date-time column: {exc}", column=TIMESTAMP
            ) from exc
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps
