"""Everything the velocity model sees, built one way for a frame (training) and a request.

``TransactionFeatures`` joins the raw columns of ``fraud.columns`` (other datetime columns become
their age in seconds at transaction time) with the per-entity features of ``fraud.velocity``, and
turns LightGBM contributions back into reasons in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fraud.checks import EPOCH, seconds
from fraud.columns import AMOUNT, TIMESTAMP, FeatureSpec
from fraud.reasons import describe
from fraud.types import TransactionField
from fraud.velocity import HistorySource, VelocityConfig, entity_values, offline_matrix, online_vector

AGE_SUFFIX = "_age_s"
MAX_REASONS = 3


class NoHistory:
    """A history source that knows nothing (scoring without an online state)."""

    def history(self, entity: str, value: str) -> None:
        return None


@dataclass(frozen=True)
class TransactionFeatures:
    """The model's inputs: raw ``spec`` columns, then ``config`` velocity features."""

    config: VelocityConfig
    spec: FeatureSpec
    datetime_columns: tuple[str, ...]

    @classmethod
    def infer(
        cls, frame: pd.DataFrame, config: VelocityConfig, *, max_categories: int
    ) -> TransactionFeatures:
        """Choose raw columns from a training frame (entities are never raw features)."""
        dt_cols = tuple(
            str(c)
            for c in frame.columns
            if c != TIMESTAMP and ptypes.is_datetime64_any_dtype(frame[c]) and "fraud" not in str(c).lower()
        )
        probe = cls(config, FeatureSpec([]), dt_cols)
        return cls(config, FeatureSpec.infer(probe.raw_frame(frame), max_categories=max_categories), dt_cols)

    @cached_property
    def names(self) -> list[str]:
        """Column names of ``matrix`` and ``row``."""
        return list(self.spec.names) + self.config.names()

    def fields(self) -> list[TransactionField]:
        """The request fields: the raw ones, entity ids, then datetime columns (read as ages)."""
        ages = tuple(c + AGE_SUFFIX for c in self.datetime_columns)
        out = self.spec.fields(skip=ages)
        named = {f.name for f in out}
        out += [TransactionField(e, "entity") for e in self.config.entities if e not in named]
        return out + [TransactionField(c, "datetime") for c in self.datetime_columns]

    def raw_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw columns minus entities; datetime columns replaced by their age at transaction time."""
        keep = frame.drop(columns=[c for c in self.config.entities if c in frame.columns])
        if self.datetime_columns:
            times = frame_seconds(frame[TIMESTAMP])
            for c in self.datetime_columns:
                keep[c + AGE_SUFFIX] = times - frame_seconds(frame[c]) if c in frame.columns else np.nan
            keep = keep.drop(columns=[c for c in self.datetime_columns if c in keep.columns])
        return keep

    def matrix(self, frame: pd.DataFrame, labels: np.ndarray | None) -> np.ndarray:
        """Features of every row, each seeing only the rows before it (labels after the delay)."""
        for e in self.config.entities:
            if e not in frame.columns:
                frame = frame.assign(**{e: None})
        times = frame_seconds(frame[TIMESTAMP])
        entities = {e: frame[e] for e in self.config.entities}
        velocity = offline_matrix(times, frame[AMOUNT].to_numpy(float), labels, entities, self.config)
        return np.hstack([self.spec.matrix(self.raw_frame(frame)), velocity])

    def row(
        self, tx: Mapping[str, Any], time: float, amount: float, source: HistorySource | None
    ) -> np.ndarray:
        """One transaction's features from the online state (``matrix``'s row for it)."""
        raw_tx = dict(tx)
        for c in self.datetime_columns:
            value = tx.get(c)
            raw_tx[c + AGE_SUFFIX] = None if value is None else time - seconds(value, field=c)
        ents = entity_values(tx, self.config.entities)
        velocity = online_vector(time, amount, ents, source or NoHistory(), self.config)
        return np.concatenate([self.spec.row(raw_tx), velocity])

    def reasons(self, contrib: np.ndarray, row: np.ndarray, tx: Mapping[str, Any]) -> list[str]:
        """Up to ``MAX_REASONS`` features that raised the score most, in words."""
        names, n_raw = self.names, len(self.spec.names)
        by_name = dict(zip(names, row.tolist(), strict=True))
        out = []
        for j in np.argsort(-contrib, kind="stable")[:MAX_REASONS]:
            if contrib[j] <= 0:
                break
            if j < n_raw:
                out.append(self.spec.describe(int(j), float(row[j]), tx))
            else:
                out.append(describe(names[j], float(row[j]), by_name, self.config) or names[j])
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (inverse of ``from_json``)."""
        return {
            "velocity": self.config.to_json(),
            "raw": self.spec.to_json(),
            "datetime_columns": list(self.datetime_columns),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TransactionFeatures:
        """Rebuild from ``to_json``."""
        return cls(
            VelocityConfig.from_json(data["velocity"]),
            FeatureSpec.from_json(data["raw"]),
            tuple(data["datetime_columns"]),
        )


def frame_seconds(stamps: pd.Series) -> np.ndarray:
    """Timestamps as float seconds since 1970 (naive UTC), as ``fraud.checks.seconds`` online."""
    stamps = pd.to_datetime(stamps)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return (stamps - pd.Timestamp(EPOCH)).dt.total_seconds().to_numpy(float)
