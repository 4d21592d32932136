"""Which columns of a transactions frame are entities, found from the data rather than the names.

An entity is whatever several transactions share and a fraudster reuses or a victim owns: a
customer, a card, a terminal, a device, an IP address, an e-mail. ``fraud.velocity`` computes
per-entity history features for each one. Stores name these columns as they like (``ip``,
``email``, ``card_hash``, ``TERMINAL_ID``), so a column is an entity when its *values* behave like
an identifier:

- ``customer_id`` (a required column of the data contract) always is, and comes first: the
  ``new_{b}_for_{a}`` pair features are anchored on it;
- a text or categorical column with more distinct values than ``max_categories`` (so it is not a
  raw category feature) whose values repeat: at least ``MIN_REPEAT_SHARE`` of its non-missing
  rows share their value with another row (a per-transaction key or free text does not);
- an integer column the same way, but only when its name reads like an identifier
  (``ID_WORDS``): an integer without one is usually a count or a quantity, whose raw value is a
  feature that becoming an entity would take away;
- a ``*_id`` column whose values repeat, whatever its cardinality (a device id with 40 values
  is still an entity, never a raw feature; see ``fraud.columns``).

Never entities: the transaction id, the timestamp, the amount, the label and anything named like
it, datetimes, flags and floats (a float id cannot be compared with the string a request sends),
and a column that groups the transactions exactly as an entity already chosen does (an e-mail
unique to each customer adds nothing the customer's features lack). The training job and the
model's ``fit`` both call ``discover_entities``; the chosen list is saved with the model, so
serving computes the same features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fraud.columns import AMOUNT, TIMESTAMP
from fraud.velocity import entity_codes

CUSTOMER = "customer_id"
NEVER = frozenset({"transaction_id", "id", TIMESTAMP, AMOUNT, "is_fraud"})
# Share of a column's non-missing rows whose value occurs in at least one other row.
MIN_REPEAT_SHARE = 0.2
# Share of rows that must carry a value at all.
MIN_PRESENT_SHARE = 0.05
ID_WORDS = frozenset(
    "id ids key hash token ip email mail device card pan iban account acct terminal merchant "
    "customer user client phone address fingerprint number num no nr".split()
)


@dataclass(frozen=True)
class EntityDiscovery:
    """The entity columns found in a frame, and why every other candidate column is not one.

    Attributes:
        entities: entity columns, ``customer_id`` first, then in the frame's column order.
        skipped: column -> the reason it is not an entity.
    """

    entities: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)


def discover_entities(frame: pd.DataFrame, *, max_categories: int = 50) -> EntityDiscovery:
    """Find the entity columns of a transactions frame (rules in the module docstring).

    Args:
        frame: transactions, as training reads them.
        max_categories: text columns with at most this many values are raw categories instead
            (the velocity model's ``max_categories``).
    """
    columns = [str(c) for c in frame.columns]
    order = sorted(columns, key=lambda c: c != CUSTOMER)  # customer_id first, others as given
    entities: list[str] = []
    codes: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    for name in order:
        if name in NEVER or name.lower() in NEVER:
            continue
        series = frame[name]
        reason = _not_an_entity(name, series, max_categories)
        if reason is None:
            codes[name] = entity_codes(series)
            twin = next((e for e in entities if _same_groups(codes[e], codes[name])), None)
            reason = f"groups transactions exactly as {twin} does" if twin else None
        if reason is None:
            entities.append(name)
        else:
            skipped[name] = reason
    return EntityDiscovery(tuple(entities), skipped)


def _not_an_entity(name: str, series: pd.Series, max_categories: int) -> str | None:
    """Why ``series`` is not an entity column, or None when it is one."""
    if name == CUSTOMER:
        return None
    if "fraud" in name.lower():
        return "named like the label"
    if ptypes.is_bool_dtype(series):
        return "a flag"
    is_int = ptypes.is_integer_dtype(series)
    is_text = ptypes.is_object_dtype(series) or ptypes.is_string_dtype(series)
    if not (is_int or is_text or isinstance(series.dtype, pd.CategoricalDtype)):
        return f"dtype {series.dtype}: not text or integer (a measurement or a date-time, not an id)"
    present = series.dropna()
    if len(present) < MIN_PRESENT_SHARE * len(series):
        return f"mostly missing ({len(present)} of {len(series)} rows have a value)"
    counts = present.astype(str).value_counts()
    repeat = float(counts[counts > 1].sum()) / max(len(present), 1)
    if repeat < MIN_REPEAT_SHARE:
        return f"values rarely repeat ({repeat:.0%} of rows share theirs): a per-row key or free text"
    if name.lower().endswith("_id"):
        return None
    if is_int and not (set(re.split(r"[^a-z0-9]+", name.lower())) & ID_WORDS):
        return "an integer not named like an identifier (a count or quantity: a raw feature)"
    if len(counts) <= max_categories:
        return f"{len(counts)} distinct values <= max_categories={max_categories}: a raw category"
    return None


def _same_groups(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two code arrays partition the rows identically (one is a renaming of the other)."""
    pairs = np.unique((a + 1) * (int(b.max(initial=-1)) + 2) + (b + 1))
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))
