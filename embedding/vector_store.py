"""Catalog vectors kept on disk between training runs: a text is encoded once per encoder.

Training encodes every catalog text one at a time (``QueryEncoder.encode`` with batches of one),
so a text's vector depends on the text, the exported graph and ``max_length`` only. A store that
retrains nightly changes a few items a day, yet each run re-encoded the whole catalog (71 s of
the recsys job on the 20k-item demo store). ``encode_cached`` looks each text up here first, by a
hash of those three, and encodes only the texts it has never seen: the vectors are the same
bytes a full encode gives.

The store is one SQLite file (WAL, so parallel trials and Dask workers share it) next to the
exported encoders (``embedding.export.cache_root``, ``$SHELFWISE_ENCODER_CACHE``). Deleting it
is always safe. It keeps the :data:`MAX_VECTORS` most recently written vectors.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embedding.encoder import QueryEncoder
from storage.sqlite import open_wal, transaction

logger = logging.getLogger(__name__)
STORE_FILE = "catalog-vectors.sqlite"
MAX_VECTORS = 500_000  # ~0.8 GB at 384 dimensions
_CHUNK = 500  # keys per SELECT (SQLite's bound-parameter limit is far above)


class VectorStore:
    """``key -> float32 vector`` in one SQLite table.

    Args:
        path: the database file (its folder is created).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection = open_wal(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")

    def get_many(self, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        """The stored vectors among ``keys`` (missing keys are left out)."""
        found: dict[bytes, np.ndarray] = {}
        for lo in range(0, len(keys), _CHUNK):
            chunk = list(keys[lo : lo + _CHUNK])
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, vector FROM vectors WHERE key IN ({marks})"
            for key, blob in self._db.execute(query, chunk):
                vector = np.frombuffer(blob, dtype=np.float32)
                if len(vector) == dim:
                    found[bytes(key)] = vector
        return found

    def put_many(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store ``vectors`` (rows aligned with ``keys``), then drop the oldest beyond the bound."""
        blobs = (np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in vectors)
        rows = list(zip(keys, blobs, strict=True))
        with transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)
            self._db.execute(
                "DELETE FROM vectors WHERE rowid <= (SELECT MAX(rowid) FROM vectors) - ?", (MAX_VECTORS,)
            )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def text_keys(encoder: QueryEncoder, texts: Sequence[str]) -> list[bytes]:
    """One key per text: a hash of the exported graph's folder name (its fingerprint),
    ``max_length`` and the text."""
    prefix = f"{encoder.directory.name}\x1f{encoder.max_length}\x1f".encode()
    return [hashlib.sha256(prefix + text.encode()).digest() for text in texts]


def encode_cached(encoder: QueryEncoder, texts: Sequence[str], store: VectorStore | None) -> np.ndarray:
    """``encoder.encode(texts)`` (one text per run), reading and filling ``store``.

    Returns:
        float32 ``(len(texts), dim)`` unit rows, byte for byte what ``encoder.encode`` gives.
    """
    if store is None:
        return encoder.encode(list(texts))
    keys = text_keys(encoder, texts)
    found = store.get_many(list(dict.fromkeys(keys)), encoder.dim)
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    todo: dict[bytes, list[int]] = {}
    for i, key in enumerate(keys):
        if key in found:
            out[i] = found[key]
        else:
            todo.setdefault(key, []).append(i)
    if todo:
        first = [rows[0] for rows in todo.values()]
        fresh = encoder.encode([texts[i] for i in first])
        for rows, vector in zip(todo.values(), fresh, strict=True):
            out[rows] = vector
        store.put_many(list(todo), fresh)
    return out


@functools.lru_cache(maxsize=4)
def default_store(root: Path | None = None) -> VectorStore | None:
    """The store in ``root`` (default: next to the exported encoders, ``embedding.export.cache_root``),
    one per process; None when it cannot be opened there (the texts are then simply encoded)."""
    from embedding.export import cache_root

    try:
        return VectorStore((root or cache_root()) / STORE_FILE)
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        logger.warning("No catalog vector store (%s): every text is encoded", exc)
        return None
