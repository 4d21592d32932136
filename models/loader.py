"""Map an artifact's ``meta.json`` (family, model_type) to the class that loads it.

The table holds dotted paths, imported lazily, so ``models`` does not import every domain
package (and their heavy dependencies) just to load one family.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from models.artifact import read_meta, verify_manifest
from models.errors import ArtifactError
from models.families import TABLE

MODEL_TYPES: dict[tuple[str, str], str] = {
    (family.name, model_type): dotted
    for family in TABLE.values()
    for model_type, dotted in family.model_types.items()
}


def model_class(family: str, model_type: str) -> Any:
    """Return the class registered for ``(family, model_type)``.

    Raises:
        ArtifactError: the pair is unknown; the message lists the known model types of the family.
    """
    dotted = MODEL_TYPES.get((family, model_type))
    if dotted is None:
        known = sorted(t for f, t in MODEL_TYPES if f == family)
        raise ArtifactError(
            f"Unknown model_type {model_type!r} for family {family!r}; expected one of {known}"
        )
    module_name, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def load_model(directory: str | Path, *, family: str | None = None) -> Any:
    """Load any Shelfwise model directory, checking its family first when ``family`` is given and
    every file against its ``manifest.json`` (``ArtifactError`` on a mismatch)."""
    verify_manifest(directory)
    meta = read_meta(directory, family=family)
    cls = model_class(meta["family"], meta["model_type"])
    return cls.load(directory)
