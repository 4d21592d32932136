"""The in-memory shape of a store data folder after loading and validation."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from models.families import TABLE

FILES = ("catalog", "events", "transactions", "sales", "search_judgments")


@dataclass
class StoreData:
    """Validated, normalised frames of one store (see docs/ARCHITECTURE.md for dtypes).

    A frame is ``None`` when its file is absent; families that need it are skipped.
    ``report`` holds per-file notes, e.g. rows skipped on purpose and why.
    ``fingerprints`` maps file name -> sha256 of its bytes (reproducibility).
    """

    catalog: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    transactions: pd.DataFrame | None = None
    sales: pd.DataFrame | None = None
    search_judgments: pd.DataFrame | None = None
    report: dict[str, list[str]] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)

    def missing_for(self, family: str) -> list[str]:
        """What ``family`` needs (``models.families``) that this store lacks: whole files, or a
        column its job cannot train without, e.g. ``transactions.is_fraud (the label column)``."""
        spec = TABLE[family]
        missing = [name for name in spec.needs if getattr(self, name) is None]
        for name, columns in spec.needs_columns.items():
            frame = getattr(self, name)
            if frame is not None:
                missing += [f"{name}.{col} ({what})" for col, what in columns.items() if col not in frame]
        return missing

    def fingerprint(self) -> str:
        """One sha256 over every file's fingerprint, order-independent."""
        import hashlib

        h = hashlib.sha256()
        for name in sorted(self.fingerprints):
            h.update(f"{name}:{self.fingerprints[name]}\n".encode())
        return h.hexdigest()
