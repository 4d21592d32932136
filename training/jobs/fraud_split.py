"""The fraud job's holdout, sized to the data: the newest window of time that holds enough frauds.

Split by time, never at random: fraud patterns drift and a random split lets the model peek at
the future. The holdout is the newest ``HOLDOUT_FRACTION`` of the time span, grown towards the
past until it holds ``MIN_HOLDOUT_FRAUDS`` labelled frauds and ``MIN_CASES`` transactions, at
most ``MAX_HOLDOUT_FRACTION`` of the span. A short gap before it drops transactions whose labels
would not be known yet at training time (chargebacks arrive days later). The settings search's
validation window is cut from the training part the same way (``newest_window``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.errors import DataValidationError
from models.evaluation import MIN_CASES

HOLDOUT_FRACTION = 0.2
MAX_HOLDOUT_FRACTION = 0.5
# Fewer frauds than this in the holdout and the bootstrap interval of AP is too wide to decide.
MIN_HOLDOUT_FRAUDS = 50
MIN_TRAIN_FRAUDS = 20  # the model calibrates on the newest quarter of its training part
MIN_VALIDATION_FRAUDS = 30  # the settings search's validation split (inside the training part)
MAX_GAP = pd.Timedelta(days=7)
GAP_FRACTION = 0.05  # of the time span; caps the gap on short data sets


def time_split(tx: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Split transactions into (train, holdout, description) by time, with a label-delay gap.

    The holdout is the newest ``HOLDOUT_FRACTION`` of the time span, or more when that holds
    fewer than ``MIN_HOLDOUT_FRAUDS`` frauds or ``MIN_CASES`` transactions.

    Raises:
        DataValidationError: even the newest ``MAX_HOLDOUT_FRACTION`` of the span holds too few
            frauds, or the training part too few (``MIN_TRAIN_FRAUDS``).
    """
    stamps = pd.to_datetime(tx["timestamp"])
    labels = tx["is_fraud"].to_numpy(int)
    holdout_start, fraction = newest_window(stamps, labels, min_frauds=MIN_HOLDOUT_FRAUDS)
    start, end = stamps.min(), stamps.max()
    if fraction > MAX_HOLDOUT_FRACTION:
        raise _too_few_frauds(stamps, labels)
    gap = min(MAX_GAP, (end - start) * GAP_FRACTION)
    train_part = tx[stamps < holdout_start - gap]
    holdout = tx[stamps >= holdout_start]
    n_train_frauds = int(train_part["is_fraud"].sum())
    if n_train_frauds < MIN_TRAIN_FRAUDS or n_train_frauds == len(train_part):
        raise DataValidationError(
            f"The time-based train split ({len(train_part)} rows before "
            f"{holdout_start - gap:%Y-%m-%d %H:%M}) holds {n_train_frauds} frauds; the fraud job needs "
            f"at least {MIN_TRAIN_FRAUDS} and some genuine transactions before the holdout "
            f"(the newest {fraction:.0%} of the span, sized to hold {MIN_HOLDOUT_FRAUDS} frauds)",
            file="transactions",
            column="is_fraud",
        )
    split = {
        "train_start": start.isoformat(),
        "train_end": (holdout_start - gap).isoformat(),
        "holdout_start": holdout_start.isoformat(),
        "holdout_end": end.isoformat(),
        "holdout_fraction": round(fraction, 4),
        "gap_days": round(gap / pd.Timedelta(days=1), 3),
        "train_rows": len(train_part),
        "holdout_rows": len(holdout),
        "n_eval_transactions": len(holdout),
        "n_eval_frauds": int(holdout["is_fraud"].sum()),
    }
    return train_part, holdout, split


def _too_few_frauds(stamps: pd.Series, labels: np.ndarray) -> DataValidationError:
    start, end = stamps.min(), stamps.max()
    half = (stamps >= start + (end - start) * (1 - MAX_HOLDOUT_FRACTION)).to_numpy()
    return DataValidationError(
        f"Too few labelled frauds for a trustworthy evaluation: the newest half of the time span "
        f"({start + (end - start) / 2:%Y-%m-%d} .. {end:%Y-%m-%d}, {int(half.sum())} transactions) "
        f"holds {int(labels[half].sum())} frauds ({int(labels.sum())} in all {len(labels)} rows); "
        f"the fraud job's holdout needs at least {MIN_HOLDOUT_FRAUDS} frauds and "
        f"{MIN_CASES} transactions to compare models beyond noise. Add more labelled history.",
        file="transactions",
        column="is_fraud",
    )


def newest_window(stamps: pd.Series, labels: np.ndarray, *, min_frauds: int) -> tuple[pd.Timestamp, float]:
    """(start, share of the time span) of the newest window to evaluate on.

    ``HOLDOUT_FRACTION`` of the span, started earlier where needed so that it holds ``min_frauds``
    frauds and ``MIN_CASES`` transactions; the share exceeds 1 when the data cannot.
    """
    start, end = stamps.min(), stamps.max()
    span = end - start
    if span <= pd.Timedelta(0):
        return start, float("inf")
    begin = start + span * (1 - HOLDOUT_FRACTION)
    frauds = np.sort(stamps.to_numpy()[labels == 1])
    everything = np.sort(stamps.to_numpy())
    if len(frauds) < min_frauds or len(everything) < MIN_CASES:
        return start, float("inf")
    begin = min(begin, pd.Timestamp(frauds[-min_frauds]), pd.Timestamp(everything[-MIN_CASES]))
    return begin, float((end - begin) / span)
