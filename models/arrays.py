"""Array helpers shared by the model families' request paths."""

from __future__ import annotations

import numpy as np


def unique_ids(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy 2's default hash-based path costs several times more
    on the few hundred to few thousand positions of one request (docs/ARCHITECTURE.md)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def union_ids(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.union1d(a, b)`` as int64 positions, through :func:`unique_ids`."""
    return unique_ids(np.concatenate([a, b]).astype(np.int64))
