"""Small helpers that domain ``fit`` methods use to validate the frames they are given."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from models.errors import DataValidationError


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    """Raise ``DataValidationError`` naming the first missing column and listing what is present."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"{name}: expected a pandas DataFrame, got {type(frame).__name__}", file=name
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{name}: missing required column {missing[0]!r} (missing: {missing}); "
            f"columns present: {list(frame.columns)}",
            file=name,
            column=missing[0],
        )
    if frame.empty:
        raise DataValidationError(f"{name}: the frame is empty; at least one row is required", file=name)
