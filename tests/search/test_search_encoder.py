"""The ONNX query encoder: parity with sentence-transformers, spelling, and the demo store typo check."""

from __future__ import annotations

import numpy as np
import pytest

from embedding.encoder import QueryEncoder
from embedding.export import exported_encoder
from search.spelling import SpellCorrector

PARITY_QUERIES = [
    "something to cut bread",
    "non-stick frying pan 28cm",
    "cordless drill 18v",
    "shampoo for dry hair",
    "garden hose 50 ft",
    "angle bracket",
    "deck over paint",
    "ladle",
    "a",
    "stainless steel kitchen sink with drainboard and faucet, 33 inch, undermount",
]


@pytest.mark.slow
def test_int8_onnx_matches_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    from embedding.export import model_dir

    reference = SentenceTransformer(str(model_dir()), device="cpu").encode(PARITY_QUERIES)
    encoder = QueryEncoder(exported_encoder())
    batch = encoder.encode(PARITY_QUERIES)
    single = np.stack([encoder.encode_one(q) for q in PARITY_QUERIES])
    assert np.allclose(batch, single)  # one text at a time: a vector never depends on its batch
    cosine = (batch * reference).sum(1)
    assert cosine.min() >= 0.98, cosine
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    fp32 = QueryEncoder(exported_encoder(), model_file="model_fp32.onnx").encode(PARITY_QUERIES)
    assert ((fp32 * reference).sum(1)).min() >= 0.9999


def test_export_is_cached() -> None:
    assert exported_encoder() == exported_encoder()
    assert (exported_encoder() / "model.onnx").stat().st_size < 40e6  # int8, not the 90 MB fp32


def test_speller_corrects_only_unknown_words() -> None:
    speller = SpellCorrector.from_texts(["Cordless Drill 18V", "Drill Bits Set", "Garden Hose", "Hose Reel"])
    assert speller.correct("cordles dril") == "cordless drill"
    assert speller.correct("Garden hoze 18v") == "Garden hose 18v"
    assert speller.correct("drill 18x") is None  # tokens with digits are model numbers
    assert speller.correct("reel") is None and speller.correct("xyzzyq") is None


@pytest.mark.slow
def test_demo_store_typos_find_the_clean_top_item(tmp_path) -> None:
    from search.hybrid import HybridSearch
    from training.data import load_store
    from training.demo import generate_store

    generate_store(tmp_path, seed=0, scale="small")
    store = load_store(tmp_path)
    model = HybridSearch().fit(store.catalog)
    pairs = [
        ("ladle", "laddle"),
        ("cutting board", "cuting board"),
        ("teddy bear", "tedy bear"),
        ("shampoo", "shampooo"),
        ("blender", "blendr"),
        ("potting soil", "poting soil"),
    ]
    for clean, typo in pairs:
        got = model.search(typo, k=1)
        assert got.corrected_query == clean
        assert got.hits[0].item_id == model.search(clean, k=1).hits[0].item_id


def test_a_cached_query_vector_equals_a_fresh_one_and_cannot_be_changed() -> None:
    cached = QueryEncoder(exported_encoder(), cache_mb=1.0)
    fresh = QueryEncoder(exported_encoder())
    first = cached.encode_one("cordless drill")
    again = cached.encode_one("cordless drill")
    assert again is first and cached.cache.stats().hits == 1
    np.testing.assert_array_equal(first, fresh.encode_one("cordless drill"))
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 1.0
    assert fresh.cache.stats().entries == 0  # no cache unless asked for
