"""Catalog text embeddings (MiniLM) for the content source: computed at training time only.

Encoder: all-MiniLM-L6-v2 as the search family's ONNX Runtime int8 graph
(:func:`embedding.export.exported_encoder`, run by :class:`embedding.encoder.QueryEncoder`), not
sentence-transformers on torch: several times faster on a catalog, with vectors that rank the
same neighbours (docs/ARCHITECTURE.md). Torch is only imported the first time a machine exports
the graph; the export is cached.

Serving never embeds: the model keeps the item-to-item neighbour table derived from these
vectors, so the serving process needs neither torch nor onnxruntime for it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # onnxruntime is imported when the catalog is encoded, not with recsys
    from embedding.encoder import QueryEncoder

MAX_DESCRIPTION_CHARS = 200
# One onnxruntime thread: as fast as two on the shared 2-core machine, and leaves a core free.
ENCODER_THREADS = 1


def item_texts(catalog: pd.DataFrame) -> list[str]:
    """One text per catalog row: title, brand, category path and the start of the description."""
    parts = [catalog["title"].fillna("").astype(str)]
    for column in ("brand", "category"):
        if column in catalog.columns:
            parts.append(catalog[column].fillna("").astype(str))
    if "description" in catalog.columns:
        parts.append(catalog["description"].fillna("").astype(str).str.slice(0, MAX_DESCRIPTION_CHARS))
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + ". " + part
    return joined.tolist()


def encode_texts(texts: list[str], *, batch_size: int = 1) -> np.ndarray:
    """L2-normalised 384-d MiniLM vectors (``float32``, one row per text) from the int8 ONNX graph.

    One text per run by default, deliberately: the int8 graph quantises activations per batch,
    so in a batch a text's vector depends on its neighbours. Singly, an item's vector depends on
    its own text only, so adding or removing other catalog items never moves its content
    neighbours, and it equals what the search family's encoder gives for the same text. Batches
    of 16-64 measured no faster within noise on 2 cores (~320 texts/s either way).

    With one text per run the vectors of texts seen before come from the on-disk store
    (:mod:`embedding.vector_store`): a retrain encodes only new or changed items.

    Args:
        texts: the texts to embed (see :func:`item_texts`).
        batch_size: texts per run; larger batches are grouped by length.
    """
    from embedding.export import exported_encoder  # training side: may export (torch) once per machine
    from embedding.vector_store import default_store, encode_cached

    encoder = _encoder(exported_encoder())
    if batch_size != 1:
        return encoder.encode(texts, batch_size=batch_size)
    return encode_cached(encoder, texts, default_store())  # texts seen by an earlier run: not again


@functools.lru_cache(maxsize=2)
def _encoder(directory: Path) -> QueryEncoder:
    """One ONNX session per exported graph and process: a session costs about half a second."""
    from embedding.encoder import QueryEncoder

    return QueryEncoder(directory, threads=ENCODER_THREADS)
