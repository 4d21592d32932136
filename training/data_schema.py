"""The store data contract as data: the columns of every file, and ``normalize_frame``.

docs/DATA.md is the user-facing description of these specs; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.errors import InvalidInputError
from training import data_columns as cols
from training.data_columns import Source


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # fill value meaning "a missing cell is an error"
EVENT_TYPES = ("view", "add_to_cart", "purchase")


@dataclass(frozen=True)
class Col:
    """One contract column.

    Attributes:
        name: column name in the file.
        kind: id, text, path, enum, float, int, flag, bool, timestamp or date.
        required: the column must be in the file.
        fill: value for missing cells (``REQUIRED``: missing cells are an error).
        add_absent: when the (optional) column is absent, add it filled with ``fill``.
        min_value: smallest allowed number (float/int kinds).
        allowed: allowed values (enum kind).
    """

    name: str
    kind: str
    required: bool = True
    fill: Any = REQUIRED
    add_absent: bool = False
    min_value: float | None = None
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileSpec:
    """The columns of one file and its unique key (empty: rows may repeat)."""

    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Every contract column name, in the normalised frame's order."""
        return [c.name for c in self.columns]


SPECS: dict[str, FileSpec] = {
    "catalog": FileSpec(
        "catalog",
        (
            Col("item_id", "id"),
            Col("title", "text"),
            Col("description", "text", required=False, fill="", add_absent=True),
            Col("category", "path"),
            Col("brand", "text"),
            Col("price", "float", min_value=0),
            Col("in_stock", "bool"),
            Col("created_at", "timestamp"),
        ),
        key=("item_id",),
    ),
    "events": FileSpec(
        "events",
        (
            Col("user_id", "id"),
            Col("item_id", "id"),
            Col("event_type", "enum", allowed=EVENT_TYPES),
            Col("timestamp", "timestamp"),
            Col("session_id", "id", required=False, fill=None, add_absent=True),
            Col("order_id", "id", required=False, fill=None, add_absent=True),
            Col("quantity", "int", required=False, fill=1, add_absent=True, min_value=1),
        ),
    ),
    "transactions": FileSpec(
        "transactions",
        (
            Col("transaction_id", "id"),
            Col("timestamp", "timestamp"),
            Col("customer_id", "id"),
            Col("amount", "float", min_value=0),
            Col("is_fraud", "flag", required=False),
        ),
        key=("transaction_id",),
    ),
    "sales": FileSpec(
        "sales",
        (
            Col("item_id", "id"),
            Col("store_id", "id", required=False, fill="all", add_absent=True),
            Col("date", "date"),
            Col("quantity", "float", min_value=0),
            Col("price", "float", required=False, fill=np.nan, min_value=0),
            Col("promotion", "flag", required=False, fill=0),
            Col("holiday", "flag", required=False, fill=0),
        ),
        key=("item_id", "store_id", "date"),
    ),
    "search_judgments": FileSpec(
        "search_judgments",
        (
            Col("query", "text"),
            Col("item_id", "id"),
            Col("relevance", "float", min_value=0),
        ),
        key=("query", "item_id"),
    ),
}

_DTYPES = {"int": np.int64, "flag": np.int8, "bool": bool, "float": np.float64}


def _convert(src: Source, col: Col, values: pd.Series) -> pd.Series:
    kind = col.kind
    if kind == "id":
        return cols.to_text(src, col.name, values, integral=True)
    if kind == "text":
        return cols.to_text(src, col.name, values, integral=False)
    if kind == "path":
        return cols.to_path(src, col.name, values)
    if kind == "enum":
        return cols.to_enum(src, col.name, values, col.allowed)
    if kind == "float":
        return cols.to_float(src, col.name, values, min_value=col.min_value)
    if kind == "int":
        return cols.to_int(src, col.name, values, min_value=col.min_value)
    if kind in ("flag", "bool"):
        flags = cols.to_flag(src, col.name, values)
        return flags.astype(bool) if kind == "bool" else flags
    if kind == "timestamp":
        return cols.to_timestamp(src, col.name, values)
    return cols.to_date(src, col.name, values)


def _allowed(col: Col) -> str:
    return {
        "id": "text or integer ids",
        "text": "text",
        "path": "a path like 'Home > Kitchen > Knives'",
        "enum": ", ".join(repr(a) for a in col.allowed),
        "float": "a number",
        "int": "a whole number",
        "flag": "0 or 1",
        "bool": "true or false",
        "timestamp": cols.TIMESTAMP_HELP,
        "date": "a date like '2026-10-31'",
    }[col.kind]


def _column(src: Source, col: Col, raw: pd.Series, notes: list[str]) -> pd.Series:
    """Normalise one present contract column; missing cells are filled or rejected."""
    missing = cols.missing_mask(raw)
    if not missing.any():
        return _convert(src, col, raw)
    if col.fill is REQUIRED:
        src.fail(col.name, "has missing values", f"{_allowed(col)}, in every row", np.flatnonzero(missing))
    done = _convert(src, col, raw[~missing]) if (~missing).any() else None
    dtype = done.dtype if done is not None else _DTYPES.get(col.kind, object)
    out = pd.Series(np.full(len(raw), col.fill, dtype=dtype), index=raw.index)
    if done is not None:
        out[~missing] = done
    if col.fill is not None:  # an empty optional id is simply None, not worth a note
        notes.append(f"{int(missing.sum())} rows without {col.name}: set to {col.fill!r}")
    return out


def _check_key(src: Source, spec: FileSpec, frame: pd.DataFrame) -> None:
    if not spec.key:
        return
    dup = frame.duplicated(subset=list(spec.key), keep="first").to_numpy()
    if not dup.any():
        return
    pos = int(np.flatnonzero(dup)[0])
    row = frame.iloc[pos]
    same = (frame[list(spec.key)] == row[list(spec.key)]).all(axis=1).to_numpy()
    first = int(np.flatnonzero(same)[0])
    key_name = ", ".join(spec.key)
    src.fail(
        key_name,
        f"has duplicate values (the key must be unique; {src.row_label(first)} has the same)",
        f"one row per {' + '.join(spec.key)}",
        np.flatnonzero(dup),
    )


def _missing_column(src: Source, spec: FileSpec, frame: pd.DataFrame, name: str) -> None:
    hint = [c for c in frame.columns if str(c).strip().lower() == name.lower()]
    did_you_mean = f" (found {hint[0]!r}: names are case-sensitive)" if hint else ""
    required = [c.name for c in spec.columns if c.required]
    src.fail(
        name,
        f"is missing{did_you_mean}; columns present: {list(frame.columns)}",
        f"a file with the required columns {required}",
    )


def normalize_frame(
    name: str, frame: pd.DataFrame, *, filename: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Validate one file's frame against the contract and return it normalised.

    Args:
        name: the file's dataset name, one of ``SPECS`` (``"catalog"``, ``"events"`` ...).
        frame: the file as read (any dtypes; CSV text is fine).
        filename: the file name used in error messages (default ``name``).

    Returns:
        The normalised frame (contract columns first, in documented order, then extra columns in
        file order; index reset) and report notes about filled or added values.

    Raises:
        DataValidationError: a missing column or value, a wrong type, an unparseable timestamp, a
            duplicate key, a negative number, a value that is not allowed or an empty frame.
        InvalidInputError: ``name`` is not a known file.
    """
    if name not in SPECS:
        raise InvalidInputError(f"Unknown store file {name!r}; expected one of {list(SPECS)}", field="name")
    spec = SPECS[name]
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    src = Source(name, filename or name, frame, key_columns=tuple(c.name for c in spec.columns[:4]))
    dupes = frame.columns[frame.columns.duplicated()].tolist()
    if dupes:
        src.fail(dupes[0], "appears more than once in the header", "each column name once")
    for col in spec.columns:
        if col.required and col.name not in frame.columns:
            _missing_column(src, spec, frame, col.name)
    if frame.empty:
        src.fail(None, "is empty (no data rows)", "at least one data row")
    out: dict[str, pd.Series] = {}
    notes: list[str] = []
    for col in spec.columns:
        if col.name in frame.columns:
            out[col.name] = _column(src, col, frame[col.name], notes)
        elif col.add_absent:
            out[col.name] = pd.Series(np.full(len(frame), col.fill, dtype=_DTYPES.get(col.kind, object)))
            notes.append(f"no {col.name} column: every row gets {col.fill!r}")
    for extra in frame.columns:
        if extra not in out:
            out[extra] = cols.normalise_extra(frame[extra])
    result = pd.DataFrame(out)
    _check_key(src, spec, result)
    return result, notes
