"""Load and validate a store data folder: ``load_store(folder, only=None) -> StoreData``.

A folder holds ``catalog``, ``events``, ``transactions``, ``sales`` and ``search_judgments`` files,
each as ``<name>.parquet`` or ``<name>.csv`` (docs/DATA.md). Every file present is validated and
normalised (``training.data_schema``); any problem raises ``DataValidationError`` naming the
file, the column, an example row and what is allowed. Nothing is dropped silently: rows kept out
on purpose (events and judgments of items missing from the catalog) are counted in
``StoreData.report``.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.errors import DataValidationError, InvalidInputError
from training.data_schema import EVENT_TYPES, SPECS, normalize_frame
from training.store import FILES, StoreData

__all__ = ["EVENT_TYPES", "FILES", "SPECS", "load_store", "normalize_frame", "read_file", "skipped_rows"]

FORMATS = (".parquet", ".csv")
# Files whose rows refer to catalog items; rows of unknown items are kept out of training.
ITEM_REFERENCES = ("events", "search_judgments")


def _select(only: Iterable[str] | None) -> list[str]:
    if only is None:
        return list(FILES)
    wanted = [only] if isinstance(only, str) else list(only)
    unknown = [n for n in wanted if n not in FILES]
    if unknown:
        raise InvalidInputError(
            f"Unknown store file {unknown[0]!r} in only=; expected names from {list(FILES)}",
            field="only",
            value=unknown[0],
        )
    return [n for n in FILES if n in wanted]


def _discover(folder: Path, names: list[str]) -> dict[str, Path]:
    """The file of every requested name present in ``folder``; both formats at once is an error."""
    found: dict[str, Path] = {}
    for name in names:
        paths = [folder / f"{name}{ext}" for ext in FORMATS if (folder / f"{name}{ext}").is_file()]
        if len(paths) > 1:
            raise DataValidationError(
                f"{folder}: both {paths[0].name} and {paths[1].name} exist; keep exactly one file per "
                f"dataset so it is clear which one to train from",
                file=paths[0].name,
            )
        if paths:
            found[name] = paths[0]
    return found


def _no_files_error(folder: Path, names: list[str]) -> DataValidationError:
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    expected = ", ".join(f"{n}.parquet|csv" for n in names)
    shown = present[:20] + (["..."] if len(present) > 20 else [])
    return DataValidationError(
        f"{folder}: no store data files found; expected at least one of {expected} "
        f"(files present: {shown or 'none'})",
        file=str(folder),
    )


def read_file(name: str, path: str | Path, data: bytes | None = None) -> pd.DataFrame:
    """Read one store file as is (no validation); CSV contract columns are read as text.

    Args:
        name: dataset name (``"catalog"`` ...), decides which CSV columns are read as text.
        path: the ``.parquet`` or ``.csv`` file.
        data: the file's bytes when already read (saves a second read).

    Raises:
        DataValidationError: the file cannot be parsed, or has no header at all.
    """
    path = Path(path)
    data = path.read_bytes() if data is None else data
    try:
        if path.suffix == ".parquet":
            frame = pq.read_table(pa.BufferReader(data)).to_pandas()
        else:
            # Contract columns as text: ids keep leading zeros and never pass through float.
            frame = pd.read_csv(
                io.BytesIO(data),
                dtype={c: str for c in SPECS[name].names},
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8-sig",
                low_memory=False,
            )
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(
            f"{path.name}: the file is empty (no header, no rows). Allowed: a header line and at least "
            f"one data row.",
            file=path.name,
        ) from exc
    except (pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        kind = "Parquet" if path.suffix == ".parquet" else "UTF-8 CSV"
        raise DataValidationError(f"{path.name}: cannot be read as {kind}: {exc}", file=path.name) from exc
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):  # dictionary-encoded Parquet
            frame[column] = np.asarray(frame[column])
    return frame


def load_store(folder: str | Path, *, only: Iterable[str] | None = None) -> StoreData:
    """Load, validate and normalise a store data folder.

    Args:
        folder: the folder holding ``<name>.parquet`` or ``<name>.csv`` files.
        only: read only these names (e.g. ``["catalog", "events"]``); default all of ``FILES``.
            Items are checked against the catalog only when the catalog is read too.

    Returns:
        ``StoreData`` with normalised frames (``None`` for absent files), ``report`` notes per file
        (rows read, values filled, rows kept out of training and why) and ``fingerprints``
        (sha256 of each file's bytes).

    Raises:
        DataValidationError: the folder is missing or has none of the files, a name exists as
            both CSV and Parquet, or a file breaks the contract (docs/DATA.md).
        InvalidInputError: ``only`` names an unknown file.
    """
    names = _select(only)
    folder = Path(folder)
    if not folder.is_dir():
        raise DataValidationError(
            f"Store data folder {str(folder)!r} does not exist or is not a folder", file=str(folder)
        )
    found = _discover(folder, names)
    if not found:
        raise _no_files_error(folder, names)
    store = StoreData()
    for name, path in found.items():
        data = path.read_bytes()
        store.fingerprints[name] = hashlib.sha256(data).hexdigest()
        raw = read_file(name, path, data)
        frame, notes = normalize_frame(name, raw, filename=path.name)
        setattr(store, name, frame)
        store.report[name] = [f"read {path.name}: {len(raw)} rows, {raw.shape[1]} columns", *notes]
    for name in ITEM_REFERENCES:
        frame = getattr(store, name)
        if frame is not None:
            setattr(store, name, _keep_catalog_items(store, name, frame, found[name].name))
    return store


def _keep_catalog_items(store: StoreData, name: str, frame: pd.DataFrame, filename: str) -> pd.DataFrame:
    """Keep rows whose item is in the catalog; count the rest in the report (never silently)."""
    if store.catalog is None:
        store.report[name].append("item_id not checked against the catalog (catalog not loaded)")
        return frame
    known = frame["item_id"].isin(store.catalog["item_id"]).to_numpy()
    if known.all():
        return frame
    pos = int(np.flatnonzero(~known)[0])
    example = {"row": pos + 1, "item_id": frame["item_id"].iat[pos]}
    if not known.any():
        raise DataValidationError(
            f"{filename}: column 'item_id': none of the {len(frame)} rows refers to an item of the catalog, "
            f"e.g. row {pos + 1}: item_id {example['item_id']!r} (catalog ids look like "
            f"{store.catalog['item_id'].iat[0]!r}). Allowed: item_id values of the catalog file.",
            file=filename,
            column="item_id",
            example=example,
        )
    skipped = int((~known).sum())
    store.report[name].append(
        f"skipped {skipped} of {len(frame)} rows whose item_id is not in the catalog (e.g. row {pos + 1}: "
        f"item_id {example['item_id']!r}); they are kept out of training"
    )
    return frame.loc[known].reset_index(drop=True)


def skipped_rows(store: StoreData, name: str) -> int:
    """Rows of ``name`` kept out of training on purpose (the ``skipped N of M rows`` notes)."""
    lines = store.report.get(name, [])
    return sum(int(line.split()[1]) for line in lines if line.startswith("skipped "))
