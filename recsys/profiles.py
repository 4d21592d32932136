"""User profiles: what each shopper did, as sparse user x item matrices every candidate source reads.

A profile holds three views of the same history, one row per user:

* ``conf``: event-weighted, time-decayed interaction strength (the ALS confidence; a purchase
  today outweighs a view last month);
* ``recent``: the last ``max_recent`` distinct items, weighted by recency of position (newest 1.0),
  the seeds of the item-to-item sources (co-visitation, content, "because you viewed X");
* ``bought``: items the user purchased (co-purchase seeds and the exclude-purchased rule).

Training histories are stored compactly (``History``) and merged with online events at query
time, so a posted event changes the very next answer (real-time fold-in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class History:
    """Per-user distinct items, oldest first, as CSR arrays (the stored training histories).

    Attributes:
        user_ids: ``U`` array, one per row.
        indptr: row offsets.
        items: catalog positions, each user's oldest interaction first.
        weights: time-decayed, event-weighted strength per (user, item).
        bought: whether the user purchased the item.
    """

    user_ids: np.ndarray
    indptr: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    bought: np.ndarray

    def row(self, user: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(items, weights, bought)`` of row ``user``, oldest first."""
        lo, hi = self.indptr[user], self.indptr[user + 1]
        return self.items[lo:hi], self.weights[lo:hi], self.bought[lo:hi]

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to save, prefixed ``hist_``."""
        return {f"hist_{k}": getattr(self, k) for k in ("user_ids", "indptr", "items", "weights", "bought")}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> History:
        """Inverse of ``arrays``."""
        return cls(*(arrays[f"hist_{k}"] for k in ("user_ids", "indptr", "items", "weights", "bought")))


def build_history(
    known: pd.DataFrame, user_ids: pd.Series, *, weights: Mapping[str, float], half_life_days: float
) -> History:
    """Collapse events to one row per (user, item): decayed weight sum, last time, bought flag.

    Args:
        known: ``known_events`` output (``item``, ``event_type``, ``timestamp``).
        user_ids: the user id of each row of ``known``.
        weights: weight per event type.
        half_life_days: an event counts half after this many days before the latest event.
    """
    if len(known) == 0:
        empty = np.zeros(0, np.int64)
        return History(
            np.zeros(0, dtype=str), np.zeros(1, np.int64), empty, empty.astype(float), empty.astype(bool)
        )
    ts = known["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    age_days = (ts.max() - ts) / 1e9 / _SECONDS_PER_DAY
    w = known["event_type"].map(weights).fillna(0.0).to_numpy(np.float64) * np.exp2(
        -age_days / half_life_days
    )
    frame = pd.DataFrame(
        {
            "user": user_ids.astype(str).to_numpy(),
            "item": known["item"].to_numpy(),
            "w": w,
            "ts": ts,
            "seq": np.arange(len(ts)),
            "bought": (known["event_type"] == "purchase").to_numpy(),
        }
    )
    grouped = (
        frame.groupby(["user", "item"], sort=False)
        .agg(w=("w", "sum"), ts=("ts", "max"), seq=("seq", "max"), bought=("bought", "any"))
        .reset_index()
    )
    # Users in id order; items by their last interaction (ties by input order), oldest first.
    grouped = grouped.sort_values(["user", "ts", "seq"], kind="stable")
    users, starts = np.unique(grouped["user"].to_numpy(dtype=str), return_index=True)
    indptr = np.append(starts, len(grouped)).astype(np.int64)
    return History(
        users,
        indptr,
        grouped["item"].to_numpy(np.int64),
        grouped["w"].to_numpy(np.float64),
        grouped["bought"].to_numpy(bool),
    )


@dataclass(frozen=True)
class Profiles:
    """A batch of user profiles as CSR matrices over the catalog (see the module docstring)."""

    conf: sp.csr_matrix
    recent: sp.csr_matrix
    bought: sp.csr_matrix
    seen: sp.csr_matrix

    @property
    def n_users(self) -> int:
        """Rows in the batch."""
        return int(self.conf.shape[0])


@dataclass(frozen=True)
class ProfileRow:
    """One user's profile before batching: items oldest first, weights, bought flags."""

    items: np.ndarray
    weights: np.ndarray
    bought: np.ndarray


def merge_online(
    stored: ProfileRow,
    *,
    session: Sequence[int],
    purchased: Sequence[int],
    session_weight: float | Sequence[float],
    purchase_weight: float,
) -> ProfileRow:
    """Append online events (most recent first, as serving passes them) to a stored history.

    ``session_weight`` is one weight for every session item, or one per item (a cart weighs
    what it weighs in training: ``recsys.session``). Online items count as brand new (no decay)
    and move to the end of the recency order.
    """
    if not len(session) and not len(purchased):
        return stored
    per_item = (
        [float(session_weight)] * len(session)
        if isinstance(session_weight, int | float)
        else [float(w) for w in session_weight]
    )
    items, weights, bought = list(stored.items), list(stored.weights), list(stored.bought)
    at = {int(item): i for i, item in enumerate(items)}
    for item, weight, is_purchase in [
        *((p, purchase_weight, True) for p in reversed(list(purchased))),
        *((s, w, False) for s, w in zip(reversed(list(session)), reversed(per_item), strict=True)),
    ]:
        old = at.pop(int(item), None)
        w, b = (weights[old], bought[old]) if old is not None else (0.0, False)
        if old is not None:
            items[old] = -1
        items.append(int(item))
        weights.append(w + weight)
        bought.append(b or is_purchase)
        at[int(item)] = len(items) - 1
    keep = np.asarray(items) >= 0
    return ProfileRow(
        np.asarray(items, np.int64)[keep],
        np.asarray(weights, np.float64)[keep],
        np.asarray(bought, bool)[keep],
    )


def batch_profiles(
    rows: Sequence[ProfileRow], n_items: int, *, max_recent: int, recent_half_life: float
) -> Profiles:
    """Stack profile rows into the CSR matrices of ``Profiles``."""
    lengths = np.array([len(r.items) for r in rows], dtype=np.int64)
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    items = np.concatenate([r.items for r in rows]) if len(rows) else np.zeros(0, np.int64)
    weights = np.concatenate([r.weights for r in rows]) if len(rows) else np.zeros(0)
    bought = np.concatenate([r.bought for r in rows]) if len(rows) else np.zeros(0, bool)
    shape = (len(rows), n_items)
    # Position from the end of each row: 0 for the newest item.
    from_end = np.repeat(indptr[1:], lengths) - 1 - np.arange(len(items))
    recency = np.where(from_end < max_recent, np.exp2(-from_end / recent_half_life), 0.0)

    def csr(data: np.ndarray) -> sp.csr_matrix:
        matrix = sp.csr_matrix((data.astype(np.float32), items, indptr), shape=shape)
        matrix.eliminate_zeros()
        return matrix

    return Profiles(
        conf=csr(np.log1p(weights)),
        recent=csr(recency),
        bought=csr(bought.astype(float)),
        seen=csr(np.ones(len(items))),
    )
