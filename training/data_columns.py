"""Column normalisers for store data files: one function per column kind, all vectorised.

Each normaliser takes the column's non-missing values (missing cells are handled by the caller,
``training.data_schema``), returns them converted to the normalised dtype of
docs/ARCHITECTURE.md, and raises ``DataValidationError`` through ``Source.fail`` naming the file,
the column, an example row and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from models.errors import DataValidationError

TRUE_WORDS = {"true": 1, "t": 1, "yes": 1, "y": 1, "1": 1, "1.0": 1}
FALSE_WORDS = {"false": 0, "f": 0, "no": 0, "n": 0, "0": 0, "0.0": 0}
TIMESTAMP_HELP = "an ISO 8601 timestamp like '2026-10-31T14:05:00Z' (no offset means UTC)"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?")
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$")
_WHOLE_FLOAT = re.compile(r"-?\d+\.0+")
_EXAMPLE_COLUMNS = 6


@dataclass
class Source:
    """The file being normalised: its names and the frame as read, for error examples."""

    name: str
    filename: str
    raw: pd.DataFrame
    key_columns: tuple[str, ...] = ()

    @property
    def is_csv(self) -> bool:
        """Whether the file is CSV (row numbers then also give the line)."""
        return self.filename.endswith(".csv")

    def row_label(self, pos: int) -> str:
        """``row 3 (line 4)``: data rows count from 1; CSV line 1 is the header."""
        return f"row {pos + 1} (line {pos + 2})" if self.is_csv else f"row {pos + 1}"

    def example(self, pos: int, column: str | None) -> dict[str, Any]:
        """The raw values of the key columns plus ``column`` at row ``pos``, as plain Python."""
        names = [c for c in self.key_columns if c in self.raw.columns and c != column]
        if column is not None and column in self.raw.columns:
            names.append(column)
        names = names[-_EXAMPLE_COLUMNS:] or list(self.raw.columns[:_EXAMPLE_COLUMNS])
        values = {c: _plain(self.raw[c].iat[pos]) for c in names}
        return {"row": pos + 1, **values}

    def fail(
        self, column: str | None, problem: str, allowed: str, positions: np.ndarray | None = None
    ) -> NoReturn:
        """Raise ``DataValidationError`` for ``column``; ``positions`` are the offending rows."""
        where, example = "", None
        if positions is not None and len(positions):
            pos = int(positions[0])
            example = self.example(pos, column)
            values = {k: v for k, v in example.items() if k != "row"}
            count = f"{len(positions)} row{'s' if len(positions) != 1 else ''}"
            where = f" in {count}, e.g. {self.row_label(pos)}: {values}"
        col = f"column {column!r} " if column else ""
        raise DataValidationError(
            f"{self.filename}: {col}{problem}{where}. Allowed: {allowed}.",
            file=self.filename,
            column=column,
            example=example,
        )


def _plain(value: Any) -> Any:
    """A cell as a short plain value for messages: numbers, text, timestamps as text, None."""
    if isinstance(value, np.datetime64 | datetime):
        return str(pd.Timestamp(value)) if not pd.isna(value) else None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _unique_map(values: pd.Series, func: Any) -> np.ndarray:
    """Apply ``func`` to each distinct non-missing value only (ids repeat a lot), -> object array.

    Missing values map to None.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [None], dtype=object)
    return mapped[codes]  # code -1 (missing) picks the trailing None


def missing_mask(values: pd.Series) -> np.ndarray:
    """Missing cells: NaN/None/NaT, and empty or whitespace-only text."""
    if values.dtype != object:
        return values.isna().to_numpy()
    blank = _unique_map(values, lambda v: isinstance(v, str) and not v.strip())
    return np.asarray(blank != False, dtype=bool)  # noqa: E712 - None (missing) counts as blank


def _positions(values: pd.Series, bad: np.ndarray) -> np.ndarray:
    """Positions in the raw file of the rows flagged ``bad`` (values carry raw positions as index)."""
    return values.index.to_numpy()[np.asarray(bad, dtype=bool)]


def _wrong_kind(src: Source, column: str, values: pd.Series, expected: str) -> NoReturn:
    src.fail(column, f"has type {values.dtype} (wrong type)", expected, values.index.to_numpy())


def to_text(src: Source, column: str, values: pd.Series, *, integral: bool) -> pd.Series:
    """Strings; integers stay integers ("17", never "17.0"). ``integral``: floats must be whole."""
    help_ = "text or integer ids" if integral else "text"
    if pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_bool_dtype(values):
        _wrong_kind(src, column, values, help_)
    if pd.api.types.is_integer_dtype(values):
        return values.astype(str).astype(object)
    if pd.api.types.is_float_dtype(values):
        return _floats_to_text(src, column, values, integral)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "string":
        clean = _strip_float_suffix if integral else str.strip
        return pd.Series(_unique_map(values, clean), index=values.index, dtype=object)
    if kind == "integer":
        return values.astype(str).astype(object)
    if kind in ("floating", "mixed-integer-float"):
        return _floats_to_text(src, column, values.astype(np.float64), integral)
    return values.map(lambda v: _scalar_text(src, column, values, v, integral)).astype(object)


def _floats_to_text(src: Source, column: str, values: pd.Series, integral: bool) -> pd.Series:
    v = values.to_numpy(dtype=np.float64)
    whole = np.isfinite(v) & (v == np.floor(v))
    if whole.all():  # float columns (a Parquet id column with gaps) hold whole numbers: no ".0"
        return pd.Series(v.astype(np.int64).astype(str), index=values.index, dtype=object)
    if integral:
        src.fail(
            column,
            "has numbers that are not whole (ids must be text or integers)",
            "text or integer ids",
            _positions(values, ~whole),
        )
    return values.map(lambda x: str(int(x)) if float(x).is_integer() else str(x)).astype(object)


def _strip_float_suffix(text: str) -> str:
    """``" 17.0 "`` -> ``"17"``: a float column exported to text must not change an id."""
    text = text.strip()
    return text.split(".", 1)[0] if _WHOLE_FLOAT.fullmatch(text) else text


def _scalar_text(src: Source, column: str, values: pd.Series, v: Any, integral: bool) -> str:
    if isinstance(v, str):
        return _strip_float_suffix(v) if integral else v.strip()
    if isinstance(v, bool | np.bool_):
        src.fail(column, "has a true/false value (wrong type)", "text", _positions(values, values == v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if integral:
        src.fail(
            column,
            f"has a value of type {type(v).__name__} (wrong type)",
            "text or integer ids",
            _positions(values, values.map(lambda x: x is v).to_numpy(dtype=bool)),
        )
    return str(v)


def to_float(src: Source, column: str, values: pd.Series, *, min_value: float | None) -> pd.Series:
    """float64, finite, optionally at least ``min_value``."""
    allowed = "a number like 12.5" + (f", at least {min_value:g}" if min_value is not None else "")
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        _wrong_kind(src, column, values, allowed)
    if pd.api.types.is_numeric_dtype(values):
        out = values.astype(np.float64)
    else:
        out = pd.to_numeric(values, errors="coerce")
        bad = out.isna().to_numpy()
        if bad.any():  # padded text (" 12.5 ") is still a number; stripping only these is cheaper
            out[bad] = pd.to_numeric(
                values[bad].map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce"
            )
            bad = out.isna().to_numpy()
        if bad.any():
            src.fail(column, "has values that are not numbers (wrong type)", allowed, _positions(values, bad))
        out = out.astype(np.float64)
    arr = out.to_numpy()
    if not np.isfinite(arr).all():
        src.fail(column, "has infinite values", allowed, _positions(values, ~np.isfinite(arr)))
    if min_value is not None and (arr < min_value).any():
        what = "negative values" if min_value == 0 else f"values below {min_value:g}"
        src.fail(column, f"has {what}", allowed, _positions(values, arr < min_value))
    return out


def to_int(src: Source, column: str, values: pd.Series, *, min_value: float | None) -> pd.Series:
    """int64 whole numbers, optionally at least ``min_value``."""
    out = to_float(src, column, values, min_value=min_value)
    arr = out.to_numpy()
    whole = arr == np.floor(arr)
    if not whole.all():
        src.fail(column, "has numbers that are not whole", "whole numbers like 2", _positions(values, ~whole))
    return out.astype(np.int64)


def to_flag(src: Source, column: str, values: pd.Series) -> pd.Series:
    """0/1 as int8 from booleans, 0/1 numbers or words (true/false, yes/no, t/f, y/n)."""
    allowed = "0 or 1 (also true/false, yes/no)"
    if pd.api.types.is_bool_dtype(values):
        return values.astype(np.int8)
    lookup: dict[Any, int] = {}
    for v in pd.unique(values):
        key = v.strip().lower() if isinstance(v, str) else v
        if isinstance(key, str):
            flag = TRUE_WORDS.get(key, FALSE_WORDS.get(key))
        elif isinstance(key, bool | np.bool_ | int | np.integer | float | np.floating):
            flag = int(key) if key in (0, 1) else None
        else:
            flag = None
        if flag is None:
            src.fail(
                column,
                f"has a value that is not a 0/1 flag: {_plain(v)!r}",
                allowed,
                _positions(values, (values == v).to_numpy(dtype=bool)),
            )
        lookup[v] = flag
    return values.map(lookup).astype(np.int8)


def to_enum(src: Source, column: str, values: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """Lower-case text that must be one of ``allowed``."""
    text = to_text(src, column, values, integral=False).str.lower()
    bad = ~text.isin(allowed).to_numpy()
    if bad.any():
        src.fail(
            column,
            "has values that are not allowed",
            ", ".join(repr(a) for a in allowed),
            _positions(values, bad),
        )
    return text


def to_path(src: Source, column: str, values: pd.Series) -> pd.Series:
    """A category path ``A > B > C`` with single spaces around each ``>``."""
    text = to_text(src, column, values, integral=False).str.replace(r"\s*>\s*", " > ", regex=True)
    bad = text.str.contains(r"^\s*>|>\s*>|>\s*$", regex=True).to_numpy(dtype=bool)
    if bad.any():
        src.fail(
            column,
            "has an empty level in a category path",
            "a path like 'Home > Kitchen > Knives'",
            _positions(values, bad),
        )
    return text


def to_timestamp(src: Source, column: str, values: pd.Series) -> pd.Series:
    """Timezone-naive UTC ``datetime64[ns]``; offsets are converted, naive values taken as UTC."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        _wrong_kind(src, column, values, TIMESTAMP_HELP + "; numbers are not accepted")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(values):
        try:
            return values.astype("datetime64[ns]")
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            years = values.dt.year.to_numpy()
            bad = (years < 1678) | (years > 2261)
            src.fail(column, "has timestamps out of range", "years 1678 to 2261", _positions(values, bad))
    parsed = _parse_times(values)
    bad = parsed.isna().to_numpy()
    if bad.any():
        src.fail(
            column,
            "has values that are not timestamps (unparseable)",
            TIMESTAMP_HELP,
            _positions(values, bad),
        )
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def _parse_times(values: pd.Series) -> pd.Series:
    """Parse text/objects to UTC; values with and without an offset are parsed apart.

    Why apart: pandas gives naive values the offset of an earlier aware value in the same call,
    but the contract says naive means UTC.
    """
    try:
        aware = values.str.contains(_OFFSET, regex=True, na=False).to_numpy(dtype=bool)
    except AttributeError:  # no text at all (datetime objects): .str refuses such columns
        aware = np.zeros(len(values), dtype=bool)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    for mask in (aware, ~aware):
        if not mask.any():
            continue
        part = values[mask]
        out = pd.to_datetime(part, utc=True, format="ISO8601", errors="coerce")
        bad = out.isna().to_numpy()
        if bad.any():  # other unambiguous spellings ("31 Oct 2026 14:05") are still fine
            out[bad] = pd.to_datetime(part[bad], utc=True, format="mixed", errors="coerce")
        parsed[mask] = out
    return parsed


def to_date(src: Source, column: str, values: pd.Series) -> pd.Series:
    """A timestamp normalised to midnight: the time of day is dropped."""
    return to_timestamp(src, column, values).dt.normalize()


def normalise_extra(values: pd.Series) -> pd.Series:
    """Extra (non-contract) columns: same shape whether the file was CSV or Parquet.

    Text: empty -> None; ISO 8601 text -> timestamps; timezone-aware timestamps -> naive UTC.
    Numbers and booleans are kept as they are.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(values):
        return values.astype("datetime64[ns]")
    if values.dtype != object:
        return values
    values = values.where(~missing_mask(values), None)
    present = values.dropna()
    if len(present) and pd.api.types.infer_dtype(present, skipna=True) == "string":
        head = present.iloc[:100]
        if head.str.fullmatch(_ISO_DATE).all() and present.str.fullmatch(_ISO_DATE).all():
            parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
            if parsed.notna().sum() == len(present):
                return parsed.dt.tz_localize(None).astype("datetime64[ns]")
    return values
