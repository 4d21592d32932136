"""The catalog vector store: a text seen before is not encoded again, and gets the same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedding import vector_store as vs
from embedding.encoder import QueryEncoder
from embedding.export import exported_encoder

TEXTS = [
    "Cordless drill. Bosch. Tools > Drills",
    "Garden hose 50 ft",
    "Cordless drill. Bosch. Tools > Drills",
]


@pytest.fixture(scope="module")
def encoder() -> QueryEncoder:
    return QueryEncoder(exported_encoder())


def test_stored_vectors_are_the_bytes_a_fresh_encode_gives(
    encoder: QueryEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = vs.VectorStore(tmp_path / "v.sqlite")
    fresh = encoder.encode(TEXTS)
    first = vs.encode_cached(encoder, TEXTS, store)
    np.testing.assert_array_equal(first, fresh)
    assert len(store) == 2  # the repeated text is stored once

    def refuse(*_args: object, **_kwargs: object) -> np.ndarray:
        raise AssertionError("a stored text was encoded again")

    monkeypatch.setattr(encoder, "encode", refuse)
    np.testing.assert_array_equal(vs.encode_cached(encoder, TEXTS[::-1], store), fresh[::-1])


def test_only_new_texts_are_encoded(
    encoder: QueryEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = vs.VectorStore(tmp_path / "v.sqlite")
    vs.encode_cached(encoder, TEXTS, store)
    asked: list[list[str]] = []
    encode = encoder.encode
    monkeypatch.setattr(
        encoder, "encode", lambda texts, **kw: asked.append(list(texts)) or encode(texts, **kw)
    )
    got = vs.encode_cached(encoder, [*TEXTS, "Paint roller"], store)
    assert asked == [["Paint roller"]]
    np.testing.assert_array_equal(got[3], encode(["Paint roller"])[0])


def test_the_key_holds_the_encoder_and_its_max_length(encoder: QueryEncoder) -> None:
    short = QueryEncoder(encoder.directory, max_length=16)
    assert vs.text_keys(encoder, TEXTS[:1]) != vs.text_keys(short, TEXTS[:1])
    assert vs.text_keys(encoder, TEXTS[:1]) == vs.text_keys(encoder, TEXTS[2:])


def test_the_store_keeps_the_newest_vectors_within_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vs, "MAX_VECTORS", 3)
    store = vs.VectorStore(tmp_path / "v.sqlite")
    for i in range(5):
        store.put_many([bytes([i])], np.full((1, 4), i, np.float32))
    assert len(store) == 3
    assert sorted(store.get_many([bytes([i]) for i in range(5)], 4)) == [bytes([2]), bytes([3]), bytes([4])]


def test_without_a_usable_folder_every_text_is_encoded(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert vs.default_store(blocked) is None
