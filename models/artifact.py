"""The artifact contract shared by every model family.

A saved model is a directory holding ``meta.json`` plus pickle-free payloads (npz, LightGBM text,
FAISS index, ONNX, parquet, JSON). ``meta.json`` names the family and the model type first, so a
loader can refuse a wrong or unknown artifact before reading anything else.

Every family class follows one lifecycle::

    model = Family(**hyper_parameters).fit(frame)   # returns self, sets attr_
    model.save(dir)                                  # write_meta(...) + payloads
    same = Family.load(dir)                          # read_meta(...) checks family/type/version
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import ArtifactError, NotFittedError
from models.families import FAMILIES

META_FILE = "meta.json"


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus the git commit when running from a checkout."""
    try:
        from importlib.metadata import version

        pkg = version("shelfwise")
    except Exception:  # noqa: BLE001 - not installed: running from a bare tree
        pkg = "0+unknown"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=2,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        sha = ""
    return f"{pkg}+g{sha}" if sha else pkg


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def write_meta(
    directory: str | Path,
    *,
    family: str,
    model_type: str,
    format_version: int,
    params: Mapping[str, Any],
    data_window: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Create ``directory`` and write its ``meta.json``. Returns the directory."""
    if family not in FAMILIES:
        raise ArtifactError(f"Unknown family {family!r}; expected one of {list(FAMILIES)}")
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    meta = {
        "family": family,
        "model_type": model_type,
        "format_version": int(format_version),
        "params": _jsonable(dict(params)),
        "data_window": _jsonable(dict(data_window or {})),
        "metrics": _jsonable(dict(metrics or {})),
        "code_version": code_version(),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **({"extra": _jsonable(dict(extra))} if extra else {}),
    }
    (path / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
    return path


def read_meta(
    directory: str | Path,
    *,
    family: str | None = None,
    model_type: str | None = None,
    format_version: int | None = None,
) -> dict[str, Any]:
    """Read ``meta.json`` and check family, model type and format version when given.

    Raises:
        ArtifactError: the directory has no readable meta.json, or it describes another model.
    """
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise ArtifactError(f"No {META_FILE} in {Path(directory)}; is this a Shelfwise model directory?")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
    for key, expected in (("family", family), ("model_type", model_type)):
        found = meta.get(key)
        if expected is not None and found != expected:
            raise ArtifactError(f"{path} holds {key} {found!r}, but {expected!r} was expected")
    found_version = meta.get("format_version")
    if format_version is not None and found_version != format_version:
        raise ArtifactError(
            f"{path} has format_version {found_version!r}; this code reads version {format_version} "
            f"of {meta.get('family')}/{meta.get('model_type')}. Retrain the model with this version."
        )
    return meta


def check_is_fitted(model: object, attributes: Iterable[str]) -> None:
    """Raise ``NotFittedError`` unless every learned attribute (``name_``) is set."""
    if any(getattr(model, name, None) is None for name in attributes):
        raise NotFittedError(model)


def save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Save arrays without pickles: object arrays are refused (convert strings to ``str``/``U``)."""
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise ArtifactError(f"Array {name!r} has dtype object; store strings as a 'U' array instead")
    np.savez(path, **arrays)  # type: ignore[arg-type]


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Load an npz written by ``save_npz`` with ``allow_pickle=False``."""
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"Missing payload {p}")
    with np.load(p, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


MANIFEST_FILE = "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: Path) -> list[str]:
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and p.name != MANIFEST_FILE
    )


def write_manifest(directory: str | Path) -> str:
    """Write ``manifest.json`` (the sha256 of every file of a saved model) and return its own sha256.

    The registry records that digest with the training run; a server checks it and every file
    before it loads the model (:func:`verify_manifest`).
    """
    root = Path(directory)
    manifest = {"sha256": {name: _sha256(root / name) for name in _files(root)}}
    (root / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return _sha256(root / MANIFEST_FILE)


def manifest_digest(directory: str | Path) -> str | None:
    """The sha256 of the directory's ``manifest.json``, or None when it has none."""
    path = Path(directory) / MANIFEST_FILE
    return _sha256(path) if path.is_file() else None


def verify_manifest(directory: str | Path) -> None:
    """Check every file of a saved model against its ``manifest.json`` (none: nothing to check,
    e.g. a model saved by hand or before manifests were written).

    Raises:
        ArtifactError: a listed file is missing or changed, or a file is not listed.
    """
    root = Path(directory)
    path = root / MANIFEST_FILE
    if not path.is_file():
        return
    try:
        expected: dict[str, str] = json.loads(path.read_text())["sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path} is not a valid manifest: {exc}") from exc
    present = _files(root)
    problems = [f"{name} is missing" for name in expected if name not in present]
    problems += [f"{name} is not in the manifest" for name in present if name not in expected]
    problems += [
        f"{name} changed (sha256 differs)"
        for name in present
        if name in expected and _sha256(root / name) != expected[name]
    ]
    if problems:
        raise ArtifactError(f"integrity check failed for {root}: " + "; ".join(problems))
