"""Per-case holdout results, bootstrap intervals and paired comparisons.

A training job scores its model and its baselines case by case (a shopper, a query, a
transaction, a series) and hands back an ``Evaluation``. Everything the promotion gate and the
run's logged intervals need follows from those per-case rows:

- ``interval(row)``: a 95 % percentile bootstrap interval of the row's metric over the cases;
- ``difference(a, b)``: the paired bootstrap of ``metric(a) - metric(b)`` on the *same* resampled
  cases, which is what "beats the baseline beyond noise" means here.

Three kinds of metric cover the four families:

- ``mean``: the metric is the mean of one value per case (NDCG@10 per shopper or query);
- ``ratio``: each case holds a numerator and a denominator and the metric is
  ``sum(numerators) / sum(denominators)`` (WAPE, WMAE per series);
- ``average_precision``: each case holds a score, ``labels`` hold the truth, and the metric is
  the average precision of the resampled cases (fraud transactions).

An evaluation saves to one ``.npz`` (no pickle) so a later run can compare itself with the
champion's cases when both were scored on the same holdout (``holdout_key``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("mean", "ratio", "average_precision")
N_BOOT = 1000
LEVEL = 0.95
# A decision (model choice, promotion) on fewer evaluated cases than this is refused: with tens
# of shoppers a 95 % interval of NDCG@10 is as wide as the metric itself.
MIN_CASES = 100
MODEL_ROW = "model"


@dataclass
class Evaluation:
    """Per-case holdout results of a model and its baselines.

    Attributes:
        case_ids: one id per evaluated case (shopper, query, transaction, series), as strings.
        rows: ``name -> per-case values``; ``"model"`` is the candidate, other names are
            baselines (``"popularity"``, ``"bm25"`` ...). Shape ``(n,)`` for ``mean`` and
            ``average_precision``, ``(n, 2)`` (numerator, denominator) for ``ratio``.
        kind: ``mean``, ``ratio`` or ``average_precision``.
        greater_is_better: direction of the metric.
        labels: the 0/1 truth per case (``average_precision`` only).
        holdout_key: identifies the holdout (cases and their truth); two evaluations with equal
            keys were scored on the same cases and may be compared pair by pair.
        case_name: what one case is, for messages ("shoppers", "queries" ...).
        min_cases: the fewest cases a decision may rest on (``MIN_CASES``; a family whose case
            aggregates many observations, such as a series of weeks, may ask for fewer).
    """

    case_ids: Any  # any sequence of ids; stored as a unicode array
    rows: dict[str, Any]  # name -> per-case values; stored as float64 arrays
    kind: str = "mean"
    greater_is_better: bool = True
    labels: np.ndarray | None = None
    holdout_key: str = ""
    case_name: str = "cases"
    min_cases: int = MIN_CASES
    _boot: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        self.case_ids = np.asarray(self.case_ids).astype(str)
        n = len(self.case_ids)
        self.rows = {name: np.asarray(values, dtype=np.float64) for name, values in self.rows.items()}
        for name, values in self.rows.items():
            if len(values) != n:
                raise ValueError(f"row {name!r} has {len(values)} values for {n} cases")
            if self.kind == "ratio" and values.shape[1:] != (2,):
                raise ValueError(f"ratio row {name!r} needs (numerator, denominator) per case")
        if self.kind == "average_precision":
            if self.labels is None or len(self.labels) != n:
                raise ValueError("average_precision needs one label per case")
            self.labels = np.asarray(self.labels, dtype=np.int8)
        if not self.holdout_key:
            self.holdout_key = holdout_key(self.case_ids, self.labels)

    @property
    def n_cases(self) -> int:
        return len(self.case_ids)

    def metric(self, row: str = MODEL_ROW, index: np.ndarray | None = None) -> float:
        """The row's metric over all cases, or over the cases ``index`` picks (with repeats)."""
        values = self.rows[row] if index is None else self.rows[row][index]
        if self.kind == "mean":
            return float(values.mean()) if len(values) else float("nan")
        if self.kind == "ratio":
            den = values[:, 1].sum()
            return float(values[:, 0].sum() / den) if den > 0 else float("nan")
        assert self.labels is not None
        labels = self.labels if index is None else self.labels[index]
        return average_precision(labels, values)

    def resamples(self, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
        """``(n_boot, n)`` case indices drawn with replacement; fixed per evaluation and seed."""
        if self._boot is None or self._boot.shape[0] != n_boot:
            rng = np.random.default_rng(seed)
            self._boot = rng.integers(0, self.n_cases, size=(n_boot, self.n_cases), dtype=np.int64)
        return self._boot

    def _stats(self, row: str, n_boot: int) -> np.ndarray:
        if self.kind == "mean":  # vectorised: one gather per row
            return self.rows[row][self.resamples(n_boot)].mean(axis=1)
        if self.kind == "average_precision":
            return self._ap_stats(row, n_boot)
        return np.array([self.metric(row, idx) for idx in self.resamples(n_boot)])

    def _ap_stats(self, row: str, n_boot: int) -> np.ndarray:
        """AP of every resample from one sort: a resample only changes each case's multiplicity."""
        assert self.labels is not None
        scores = self.rows[row]
        order = np.argsort(-scores, kind="stable")
        ordered = scores[order]
        labels = self.labels[order].astype(np.int64)
        ends = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
        out = np.empty(n_boot)
        for b, idx in enumerate(self.resamples(n_boot)):
            counts = np.bincount(idx, minlength=self.n_cases)[order]
            tp = np.cumsum(counts * labels)[ends]
            seen = np.cumsum(counts)[ends]
            if tp[-1] == 0:
                out[b] = np.nan
                continue
            step = np.diff(np.r_[0, tp])
            precision = np.divide(tp, seen, out=np.zeros(len(tp)), where=seen > 0)
            out[b] = float((precision * step).sum() / tp[-1])
        return out

    def interval(self, row: str = MODEL_ROW, n_boot: int = N_BOOT) -> tuple[float, float]:
        """The 95 % percentile bootstrap interval of the row's metric over the cases."""
        if self.n_cases < 2:
            return float("nan"), float("nan")
        stats = self._stats(row, n_boot)
        lo, hi = np.nanquantile(stats, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        return float(lo), float(hi)

    def difference(self, row: str, other: str, n_boot: int = N_BOOT) -> Comparison:
        """Paired bootstrap of ``metric(row) - metric(other)`` on the same resampled cases."""
        diff = self.metric(row) - self.metric(other)
        if self.n_cases < 2:
            return Comparison(row, other, diff, float("nan"), float("nan"), self.greater_is_better, 0)
        stats = self._stats(row, n_boot) - self._stats(other, n_boot)
        lo, hi = np.nanquantile(stats, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        return Comparison(row, other, diff, float(lo), float(hi), self.greater_is_better, self.n_cases)

    def with_row(self, name: str, values: np.ndarray) -> Evaluation:
        """A copy with one more row (another model scored on the same cases)."""
        rows = {**self.rows, name: np.asarray(values, dtype=np.float64)}
        return Evaluation(
            self.case_ids,
            rows,
            self.kind,
            self.greater_is_better,
            self.labels,
            self.holdout_key,
            self.case_name,
            self.min_cases,
        )

    def subset(self, keep: np.ndarray) -> Evaluation:
        """The cases where the boolean mask ``keep`` is true (a new holdout key: other cases)."""
        keep = np.asarray(keep, dtype=bool)
        return Evaluation(
            self.case_ids[keep],
            {name: values[keep] for name, values in self.rows.items()},
            self.kind,
            self.greater_is_better,
            self.labels[keep] if self.labels is not None else None,
            "",
            self.case_name,
            self.min_cases,
        )

    def aligned(self, other: Evaluation, row: str = MODEL_ROW) -> np.ndarray | None:
        """``other``'s ``row`` reordered to this evaluation's cases, or None if not the same cases."""
        if other.holdout_key != self.holdout_key or other.kind != self.kind or row not in other.rows:
            return None
        position = {case: i for i, case in enumerate(other.case_ids.tolist())}
        if len(position) != self.n_cases or any(c not in position for c in self.case_ids.tolist()):
            return None
        order = np.fromiter((position[c] for c in self.case_ids.tolist()), np.int64, self.n_cases)
        return other.rows[row][order]

    def save(self, path: str | Path) -> None:
        """Write the evaluation to one ``.npz`` (strings as unicode arrays, no pickle)."""
        payload: dict[str, np.ndarray] = {f"row__{name}": values for name, values in self.rows.items()}
        if self.labels is not None:
            payload["labels"] = self.labels
        payload.update(
            case_ids=self.case_ids.astype(str),
            kind=np.array(self.kind),
            greater_is_better=np.array(self.greater_is_better),
            holdout_key=np.array(self.holdout_key),
            case_name=np.array(self.case_name),
            min_cases=np.array(self.min_cases),
        )
        np.savez_compressed(path, **payload)  # type: ignore[arg-type]  # numpy's stub types **kwds poorly

    @classmethod
    def load(cls, path: str | Path) -> Evaluation:
        with np.load(path, allow_pickle=False) as data:
            rows = {k.removeprefix("row__"): data[k] for k in data.files if k.startswith("row__")}
            return cls(
                data["case_ids"],
                rows,
                str(data["kind"]),
                bool(data["greater_is_better"]),
                data["labels"] if "labels" in data.files else None,
                str(data["holdout_key"]),
                str(data["case_name"]),
                int(data["min_cases"]) if "min_cases" in data.files else MIN_CASES,
            )


@dataclass(frozen=True)
class Comparison:
    """``metric(row) - metric(other)`` with its paired 95 % bootstrap interval."""

    row: str
    other: str
    difference: float
    low: float
    high: float
    greater_is_better: bool
    n_cases: int

    @property
    def better(self) -> bool:
        """The interval of the difference excludes zero on the side of ``row`` being better."""
        return bool(self.low > 0) if self.greater_is_better else bool(self.high < 0)

    @property
    def worse(self) -> bool:
        """The interval of the difference excludes zero on the side of ``row`` being worse."""
        return bool(self.high < 0) if self.greater_is_better else bool(self.low > 0)

    def describe(self) -> str:
        return (
            f"{self.row} - {self.other} = {self.difference:+.4g} "
            f"[{self.low:+.4g}, {self.high:+.4g}] over {self.n_cases} cases"
        )


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision as scikit-learn defines it (tied scores are one threshold); nan without positives."""
    labels = np.asarray(labels)
    positives = labels.sum()
    if positives == 0:
        return float("nan")
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    hits = np.cumsum(labels[order])
    # the last position of each run of equal scores is one threshold
    ends = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
    tp = hits[ends]
    precision = tp / (ends + 1)
    recall_step = np.diff(np.r_[0, tp]) / positives
    return float((precision * recall_step).sum())


def holdout_key(case_ids: Iterable[str], extra: np.ndarray | None = None, *, truth: str = "") -> str:
    """A short hash of the evaluated cases (and what is true for them)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, case_ids)).encode())
    if extra is not None:
        h.update(np.ascontiguousarray(extra).tobytes())
    h.update(truth.encode())
    return h.hexdigest()[:16]
