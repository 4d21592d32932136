"""Velocity and history features per entity: one definition, computed offline in bulk and online.

For a transaction at time ``t`` with amount ``a`` and, for each configured entity column ``e``
(customer, card, terminal, device, IP ...), the entity's value ``v``, the features look only at
the *earlier* transactions of ``v`` (earlier in time; equal timestamps count in stream order):

* ``{e}_n_{w}``, ``{e}_sum_{w}``, ``{e}_mean_{w}``: count, summed and mean amount of the entity's
  transactions in ``(t - w, t]`` for every window ``w`` (default 1 h, 1 d, 7 d, 30 d);
* ``{e}_n_all`` and ``{e}_amount_vs_mean_all``: history length and ``a`` over the entity's mean
  amount so far; ``{e}_amount_vs_mean_{w}`` relative to the longest window's mean;
* ``{e}_secs_since_prev``: seconds since the entity's previous transaction;
* ``{e}_fraud_rate_{r}`` and ``{e}_n_delayed_{r}``: the fraud share (and count) of the entity's
  transactions in ``(t - delay - r, t - delay]``. Labels arrive late (chargebacks take days), so
  only transactions older than the **label delay** count: at serving time their labels are known,
  and the model never trains on labels it would not have had (the Fraud Detection Handbook's
  terminal risk). An unlabelled transaction counts as genuine.
* ``new_{b}_for_{a}``: 1 when value of entity ``b`` was never seen with this value of ``a`` before
  (a new device for this customer), 0 otherwise.

A missing entity value gives NaN features (LightGBM's "missing"). ``offline_matrix`` computes all
of it for a frame with sorted cumulative sums and ``searchsorted`` window starts;
``online_vector`` computes the same numbers for one transaction from ``fraud.online_state``
histories. ``tests/fraud/test_fraud_velocity_parity.py`` replays a stream and checks they agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

HOUR, DAY = 3600.0, 86400.0


def window_label(seconds: float) -> str:
    """``3600 -> "1h"``, ``86400 -> "1d"``, other values in seconds."""
    if seconds % DAY == 0:
        return f"{int(seconds // DAY)}d"
    if seconds % HOUR == 0:
        return f"{int(seconds // HOUR)}h"
    return f"{int(seconds)}s"


@dataclass(frozen=True)
class VelocityConfig:
    """Which entities and windows the features cover (stored with the model).

    Attributes:
        entities: entity columns, e.g. ``("customer_id", "terminal_id", "device_id")``.
        windows: velocity windows in seconds.
        risk_windows: fraud-rate windows in seconds (they end ``label_delay`` before ``t``).
        label_delay: seconds after a transaction before its label is assumed known.
        pairs: ``(a, b)`` pairs flagging a value of ``b`` new for the value of ``a``.
    """

    entities: tuple[str, ...]
    windows: tuple[float, ...] = (HOUR, DAY, 7 * DAY, 30 * DAY)
    risk_windows: tuple[float, ...] = (7 * DAY, 30 * DAY)
    label_delay: float = 7 * DAY
    pairs: tuple[tuple[str, str], ...] = field(default=())

    @property
    def horizon(self) -> float:
        """How far back (seconds) any feature looks; older history can be dropped online."""
        return max((*self.windows, self.label_delay + max(self.risk_windows, default=0.0)))

    def names(self) -> list[str]:
        """Feature names, in matrix column order."""
        out: list[str] = []
        for e in self.entities:
            for w in map(window_label, self.windows):
                out += [f"{e}_n_{w}", f"{e}_sum_{w}", f"{e}_mean_{w}"]
            out += [f"{e}_n_all", f"{e}_amount_vs_mean_all"]
            if self.windows:
                out.append(f"{e}_amount_vs_mean_{window_label(max(self.windows))}")
            out.append(f"{e}_secs_since_prev")
            for r in map(window_label, self.risk_windows):
                out += [f"{e}_fraud_rate_{r}", f"{e}_n_delayed_{r}"]
        return out + [f"new_{b}_for_{a}" for a, b in self.pairs]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (inverse of ``from_json``)."""
        return {
            "entities": list(self.entities),
            "windows": list(self.windows),
            "risk_windows": list(self.risk_windows),
            "label_delay": self.label_delay,
            "pairs": [list(p) for p in self.pairs],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VelocityConfig:
        """Rebuild a config written by ``to_json``."""
        return cls(
            entities=tuple(data["entities"]),
            windows=tuple(float(w) for w in data["windows"]),
            risk_windows=tuple(float(w) for w in data["risk_windows"]),
            label_delay=float(data["label_delay"]),
            pairs=tuple((str(a), str(b)) for a, b in data["pairs"]),
        )


# ---------------------------------------------------------------------------------------- offline
def offline_matrix(
    times: np.ndarray,
    amounts: np.ndarray,
    labels: np.ndarray | None,
    entities: Mapping[str, pd.Series | np.ndarray],
    config: VelocityConfig,
) -> np.ndarray:
    """Features of every row of a transaction history, shape ``(rows, len(config.names()))``.

    Args:
        times: seconds (float) of each transaction, any order; ties are broken by row order.
        amounts: amounts.
        labels: 0/1 fraud labels (None: all genuine, e.g. unlabelled data).
        entities: each entity column's values (None/NaN = missing).
        config: what to compute.
    """
    times = np.asarray(times, dtype=float)
    amounts = np.asarray(amounts, dtype=float)
    y = np.zeros(len(times)) if labels is None else np.asarray(labels, dtype=float)
    order = np.argsort(times, kind="stable")  # stream order
    unique_times = np.unique(times)
    rank = np.searchsorted(unique_times, times)
    blocks = [
        _entity_block(times, amounts, y, order, unique_times, rank, entities[e], config)
        for e in config.entities
    ]
    blocks += [_new_pair(order, entities[a], entities[b])[:, None] for a, b in config.pairs]
    return np.hstack(blocks) if blocks else np.empty((len(times), 0))


def entity_codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Integer codes of entity values compared as strings (as online); -1 where missing."""
    series = pd.Series(values, dtype=object)
    codes = pd.factorize(series.astype(str))[0].astype(np.int64)
    codes[series.isna().to_numpy()] = -1
    return codes


def _entity_block(
    times: np.ndarray,
    amounts: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    unique_times: np.ndarray,
    rank: np.ndarray,
    values: pd.Series | np.ndarray,
    config: VelocityConfig,
) -> np.ndarray:
    """One entity's feature columns, vectorised: rows grouped by entity, time-sorted within."""
    codes = entity_codes(values)
    grouped = order[np.argsort(codes[order], kind="stable")]  # by entity, then stream order
    pos = np.empty(len(times), dtype=np.int64)
    pos[grouped] = np.arange(len(times))
    m = np.int64(len(unique_times) + 1)
    keys = codes[grouped].astype(np.int64) * m + rank[grouped]
    own = codes.astype(np.int64) * m
    cum_a = np.concatenate([[0.0], np.cumsum(amounts[grouped])])
    cum_y = np.concatenate([[0.0], np.cumsum(y[grouped])])
    sorted_t = times[grouped]

    def start(cutoff: np.ndarray) -> np.ndarray:
        """First grouped position of this entity with time > cutoff (capped at the row itself)."""
        c = np.searchsorted(unique_times, cutoff, side="right")
        return np.minimum(np.searchsorted(keys, own + c, side="left"), pos)

    cols: list[np.ndarray] = []
    first = np.searchsorted(keys, own, side="left")
    for w in config.windows:
        lo = start(times - w)
        n, s = (pos - lo).astype(float), cum_a[pos] - cum_a[lo]
        cols += [n, s, _ratio(s, n)]
    n_all = (pos - first).astype(float)
    mean_all = _ratio(cum_a[pos] - cum_a[first], n_all)
    cols += [n_all, _ratio(amounts, mean_all)]
    if config.windows:
        cols.append(_ratio(amounts, cols[3 * len(config.windows) - 1]))
    prev_t = np.where(n_all > 0, sorted_t[np.maximum(pos - 1, 0)], np.nan)
    cols.append(times - prev_t)
    for r in config.risk_windows:
        lo, hi = start(times - config.label_delay - r), start(times - config.label_delay)
        n = (hi - lo).astype(float)
        cols += [_ratio(cum_y[hi] - cum_y[lo], n), n]
    block = np.column_stack(cols)
    block[codes < 0] = np.nan
    return block


def _new_pair(order: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """1.0 where this (a, b) combination has not occurred earlier in stream order; NaN if missing."""
    ca, cb = entity_codes(a), entity_codes(b)
    frame = pd.DataFrame({"a": ca[order], "b": cb[order]})
    out = np.empty(len(order))
    out[order] = (~frame.duplicated()).to_numpy(float)
    out[(ca < 0) | (cb < 0)] = np.nan
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


# ----------------------------------------------------------------------------------------- online
class History(Protocol):
    """What ``online_vector`` reads of one entity value (``fraud.online_state.EntityHistory``)."""

    times: list[float]
    amounts: list[float]
    frauds: list[int]
    n_all: int
    sum_all: float
    last_time: float
    partners: dict[str, set[str]]


class HistorySource(Protocol):
    """Anything that returns an entity value's history (the online state)."""

    def history(self, entity: str, value: str) -> History | None: ...


def online_vector(
    time: float,
    amount: float,
    entities: Mapping[str, str | None],
    source: HistorySource,
    config: VelocityConfig,
) -> np.ndarray:
    """The ``offline_matrix`` row of one new transaction, from the histories in ``source``.

    Args:
        time: the transaction's time in seconds (same epoch as offline).
        amount: its amount.
        entities: entity column -> value (None when the transaction lacks it).
        source: the online state; it must not yet contain this transaction.
        config: the model's feature config.
    """
    out: list[float] = []
    seen: dict[str, History | None] = {}  # each entity's history read once (the pairs reuse it)
    for e in config.entities:
        value = entities.get(e)
        hist = seen[e] = source.history(e, value) if value is not None else None
        block = _online_block(time, amount, hist, config)
        out += [math.nan] * len(block) if value is None else block
    for a, b in config.pairs:
        va, vb = entities.get(a), entities.get(b)
        if va is None or vb is None:
            out.append(math.nan)
            continue
        hist = seen[a] if a in seen else source.history(a, va)
        out.append(0.0 if hist is not None and vb in hist.partners.get(b, ()) else 1.0)
    return np.asarray(out, dtype=float)


def _online_block(time: float, amount: float, hist: History | None, config: VelocityConfig) -> list[float]:
    """One entity's features; all windows at once (one ``(windows, history)`` mask each)."""
    nan = math.nan
    nw = len(config.windows)
    if hist is None or not hist.times:
        n_all = float(hist.n_all) if hist else 0.0
        mean_all = hist.sum_all / n_all if hist and n_all else nan
        out = [0.0, 0.0, nan] * nw + [n_all, amount / mean_all if mean_all > 0 else nan]
        if nw:
            out.append(nan)
        out.append(time - hist.last_time if hist and n_all else nan)
        return out + [nan, 0.0] * len(config.risk_windows)
    times = np.asarray(hist.times, dtype=float)
    amounts = np.asarray(hist.amounts, dtype=float)
    past = times <= time
    out = []
    if nw:
        sel = past & (times > time - np.asarray(config.windows, dtype=float)[:, None])
        counts, sums = sel.sum(axis=1).tolist(), np.where(sel, amounts, 0.0).sum(axis=1).tolist()
        for n, s in zip(counts, sums, strict=True):
            out += [float(n), s, s / n if n else nan]
    n_all = float(hist.n_all)
    mean_all = hist.sum_all / n_all if n_all else nan
    out += [n_all, amount / mean_all if mean_all > 0 else nan]
    if nw:
        mean_w = out[3 * nw - 1]
        out.append(amount / mean_w if mean_w > 0 else nan)
    prev = float(times[past].max()) if past.any() else (hist.last_time if n_all else nan)
    out.append(time - prev)
    if config.risk_windows:
        frauds = np.asarray(hist.frauds, dtype=float)
        end = time - config.label_delay
        known = past & (times <= end)
        sel = known & (times > end - np.asarray(config.risk_windows, dtype=float)[:, None])
        counts, fraud = sel.sum(axis=1).tolist(), np.where(sel, frauds, 0.0).sum(axis=1).tolist()
        for n, f in zip(counts, fraud, strict=True):
            out += [f / n if n else nan, float(n)]
    return out


def entity_values(tx: Mapping[str, Any], columns: Sequence[str]) -> dict[str, str | None]:
    """The transaction's entity values as strings (offline codes use ``str`` too); None if missing."""
    out: dict[str, str | None] = {}
    for c in columns:
        v = tx.get(c)
        out[c] = None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    return out
