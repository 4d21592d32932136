"""Turn raw events into the statistics the baseline recommender ranks by.

Two signals are learned here, both as flat numpy arrays indexed by catalog position:

* time-decayed, event-weighted popularity per item (a purchase today outweighs a view last month);
* co-purchase associations between items bought in the same order, kept as a pruned, row-sorted
  CSR table so a ``bought_together`` query is one slice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.errors import DataValidationError, InvalidInputError
from recsys.categories import normalise_path

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
# Orders bigger than this are wholesale/bulk baskets: they add quadratically many pairs and say
# little about what shoppers buy together, so they are left out of co-purchase counting.
MAX_BASKET_ITEMS = 100
# Only the strongest associations per item are kept: bounds artifact size and query time, and
# nobody shows more than a few dozen "bought together" items.
MAX_PAIRS_PER_ITEM = 100
_SECONDS_PER_DAY = 86_400.0


def resolve_event_weights(event_weights: Mapping[str, float] | None) -> dict[str, float]:
    """Return the event weights to use, validated (``None`` -> ``DEFAULT_EVENT_WEIGHTS``).

    Raises:
        InvalidInputError: a weight is negative or not a number.
    """
    if event_weights is None:
        return dict(DEFAULT_EVENT_WEIGHTS)
    resolved: dict[str, float] = {}
    for name, weight in dict(event_weights).items():
        try:
            value = float(weight)
        except (TypeError, ValueError):
            value = float("nan")
        if not np.isfinite(value) or value < 0:
            raise InvalidInputError(
                f"event_weights[{name!r}] must be a finite number >= 0, got {weight!r}",
                field="event_weights",
                value=weight,
            )
        resolved[str(name)] = value
    return resolved


def to_utc_naive(values: pd.Series, *, name: str) -> pd.Series:
    """Parse timestamps to timezone-naive UTC ``datetime64[ns]`` (the data contract's form).

    Raises:
        DataValidationError: some value cannot be read as a timestamp.
    """
    try:
        parsed = pd.to_datetime(values, utc=True, errors="raise")
    except (ValueError, TypeError) as exc:
        raise DataValidationError(
            f"{name}: column 'timestamp' has a value that is not a timestamp ({exc})",
            file=name,
            column="timestamp",
        ) from exc
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")


def decayed_popularity(
    item_idx: np.ndarray,
    event_types: np.ndarray,
    timestamps: np.ndarray,
    n_items: int,
    *,
    half_life_days: float,
    event_weights: Mapping[str, float],
) -> np.ndarray:
    """Sum of event weights per item, each halved for every ``half_life_days`` of age.

    Age is measured from the latest event, not from "now", so a model trained on an old export
    ranks the same way it would have on the day of the export.

    Args:
        item_idx: catalog position of each event.
        event_types: event type of each event; types without a weight count zero.
        timestamps: ``datetime64[ns]`` of each event.
        n_items: catalog size (length of the result).
        half_life_days: days after which an event counts half.
        event_weights: weight per event type.

    Returns:
        ``float64`` scores of length ``n_items`` (0 for items without events).
    """
    if len(item_idx) == 0:
        return np.zeros(n_items, dtype=np.float64)
    weights = pd.Series(event_types).map(event_weights).fillna(0.0).to_numpy(dtype=np.float64)
    ts = timestamps.astype("datetime64[ns]").astype(np.int64)
    age_days = (ts.max() - ts) / 1e9 / _SECONDS_PER_DAY
    decayed = weights * np.exp2(-age_days / half_life_days)
    return np.bincount(item_idx, weights=decayed, minlength=n_items).astype(np.float64)


@dataclass(frozen=True)
class CoPurchases:
    """Per-item co-purchase partners as a CSR table, each row sorted by score (best first).

    Attributes:
        indptr: ``int64`` row offsets, length ``n_items + 1``.
        indices: ``int64`` partner positions.
        scores: ``float64`` confidence ``P(partner in order | item in order)`` in ``(0, 1]``.
    """

    indptr: np.ndarray
    indices: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls, n_items: int) -> CoPurchases:
        """A table with no pairs."""
        return cls(np.zeros(n_items + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))

    def partners(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """The partners of catalog position ``item`` and their scores, best first."""
        lo, hi = self.indptr[item], self.indptr[item + 1]
        return self.indices[lo:hi], self.scores[lo:hi]

    @property
    def n_pairs(self) -> int:
        """Number of stored (item, partner) pairs."""
        return int(len(self.indices))


def co_purchases(
    item_idx: np.ndarray, order_ids: np.ndarray, n_items: int, *, min_support: int
) -> CoPurchases:
    """Association rules ``item -> partner`` from items bought in the same order.

    A pair is kept when at least ``min_support`` orders contain both items and the lift is above 1
    (they co-occur more often than their popularity alone explains, so a bestseller that is in
    every basket is not "bought together" with everything). Partners are ranked by confidence,
    ties by lift, and pruned to ``MAX_PAIRS_PER_ITEM`` per item.

    Args:
        item_idx: catalog position of each purchase event.
        order_ids: order id of each purchase event (already without missing values).
        n_items: catalog size.
        min_support: fewest orders a pair must share.
    """
    if len(item_idx) == 0:
        return CoPurchases.empty(n_items)
    pairs = pd.DataFrame({"order": pd.factorize(order_ids)[0], "item": item_idx}).drop_duplicates()
    basket_size = pairs.groupby("order")["item"].transform("size")
    pairs = pairs[basket_size <= MAX_BASKET_ITEMS]
    n_orders = int(pairs["order"].max()) + 1 if len(pairs) else 0
    if n_orders == 0:
        return CoPurchases.empty(n_items)
    ones = np.ones(len(pairs), dtype=np.float64)
    baskets = sp.csr_matrix(
        (ones, (pairs["order"].to_numpy(), pairs["item"].to_numpy())), shape=(n_orders, n_items)
    )
    both = (baskets.T @ baskets).tocoo()
    item_orders = np.asarray(baskets.sum(axis=0)).ravel()
    row, col, support = both.row.astype(np.int64), both.col.astype(np.int64), both.data
    confidence = support / item_orders[row]
    lift = support * n_orders / (item_orders[row] * item_orders[col])
    keep = (row != col) & (support >= min_support) & (lift > 1.0)
    return _pruned_table(row[keep], col[keep], confidence[keep], lift[keep], n_items)


def _pruned_table(
    row: np.ndarray, col: np.ndarray, confidence: np.ndarray, lift: np.ndarray, n_items: int
) -> CoPurchases:
    """Sort pairs by (row, -confidence, -lift, col), keep the top ones per row, build the CSR."""
    order = np.lexsort((col, -lift, -confidence, row))
    row, col, confidence = row[order], col[order], confidence[order]
    counts = np.bincount(row, minlength=n_items)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank_in_row = np.arange(len(row)) - starts[row]
    keep = rank_in_row < MAX_PAIRS_PER_ITEM
    row, col, confidence = row[keep], col[keep], confidence[keep]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=n_items)))).astype(np.int64)
    return CoPurchases(indptr, col.astype(np.int64), confidence.astype(np.float64))


def catalog_arrays(catalog: pd.DataFrame) -> dict[str, np.ndarray]:
    """Item metadata as flat arrays (strings as ``U``), one row per item id (the last row wins)."""
    frame = catalog.assign(item_id=catalog["item_id"].astype(str)).drop_duplicates("item_id", keep="last")
    in_stock = frame["in_stock"].astype("boolean").fillna(True)  # unknown stock: assume sellable
    return {
        "item_ids": frame["item_id"].to_numpy(dtype=str),
        "titles": frame["title"].fillna("").astype(str).to_numpy(dtype=str),
        "categories": np.array([normalise_path(c) for c in frame["category"]], dtype=str),
        "prices": pd.to_numeric(frame["price"], errors="coerce").to_numpy(dtype=np.float64),
        "in_stock": in_stock.to_numpy(dtype=bool),
        "brands": (
            frame["brand"].fillna("").astype(str).str.strip().str.casefold().to_numpy(dtype=str)
            if "brand" in frame.columns
            else np.full(len(frame), "", dtype=str)
        ),
    }


def brand_codes(brands: np.ndarray) -> np.ndarray:
    """Integer code per item of its normalised brand (``catalog_arrays``'s ``brands``), -1 when none."""
    return pd.factorize(pd.Series(brands).replace("", None))[0].astype(np.int64)


def known_events(events: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Events of catalog items that have a timestamp, with the item's catalog position in ``item``.

    Returns:
        Columns ``item`` (int), ``event_type`` (lower-case), ``timestamp`` (naive UTC) and
        ``order_id`` (``None`` when absent or empty).
    """
    if "order_id" in events.columns:
        order_ids = events["order_id"]
    else:
        order_ids = pd.Series(None, index=events.index, dtype=object)
    frame = pd.DataFrame(
        {
            "item": index.get_indexer(events["item_id"].astype(str)),
            "event_type": events["event_type"].astype(str).str.strip().str.lower(),
            "timestamp": to_utc_naive(events["timestamp"], name="events"),
            "order_id": order_ids.where(order_ids.notna() & (order_ids.astype(str) != ""), None),
        }
    )
    return frame[(frame["item"] >= 0) & frame["timestamp"].notna()].reset_index(drop=True)
