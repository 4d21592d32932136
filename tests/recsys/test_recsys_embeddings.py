"""Catalog texts and their MiniLM vectors (the int8 ONNX encoder shared with search)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.embeddings import encode_texts, item_texts

CATALOG = pd.DataFrame(
    {
        "item_id": ["pan", "skillet", "novel", "hose"],
        "title": [
            "Non-stick Frying Pan 28cm",
            "Cast Iron Skillet 26cm",
            "Crime Novel Paperback",
            "Garden Hose 50 ft",
        ],
        "brand": ["Cookwell", "Cookwell", "Pagehouse", None],
        "category": ["Kitchen > Cookware", "Kitchen > Cookware", "Books > Fiction", "Garden > Watering"],
        "description": ["x" * 300, "A heavy pan for searing.", None, "Flexible and kink-free."],
    }
)


def test_item_texts_join_the_fields_and_cut_the_description() -> None:
    texts = item_texts(CATALOG)
    assert texts[0] == "Non-stick Frying Pan 28cm. Cookwell. Kitchen > Cookware. " + "x" * 200
    assert texts[3].startswith("Garden Hose 50 ft. . Garden > Watering.")  # a missing brand stays empty


def test_catalog_vectors_are_unit_length_close_for_similar_items_and_batch_free() -> None:
    texts = item_texts(CATALOG)
    vectors = encode_texts(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > max(sims[0, 2], sims[0, 3])  # pan ~ skillet, not a novel or a hose
    assert sims[1, 0] > max(sims[1, 2], sims[1, 3])
    # One text per run: an item's vector does not depend on which other items are encoded with it.
    assert np.array_equal(encode_texts(texts[2:3]), vectors[2:3])
    assert len(encode_texts([])) == 0
