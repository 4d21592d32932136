"""Copies of a fitted :class:`~search.hybrid.HybridSearch` with other settings, rebuilt cheaply.

A settings search tries many settings on one catalog. Encoding the catalog with MiniLM, building
the vector index, the speller and the suggester cost minutes on a large catalog and depend on
none of the searched settings, so a variant shares them with the fitted model it comes from;
only the BM25 index is rebuilt, and only when ``k1``, ``b`` or the field weights change (seconds
on 54k products). A variant is an ordinary fitted model: it tunes, searches, saves and loads
exactly like one fitted from scratch with the same settings (a test checks that).

:class:`MemoEncoder` remembers query vectors, so trials that score the same queries encode each
once. Only the search's own scratch models use it; a model that is returned keeps its encoder.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from embedding.encoder import QueryEncoder
from models.errors import InvalidInputError
from search import catalog as cat
from search.hybrid import FUSIONS, HybridSearch
from search.keyword import KeywordIndex, token_bags

# Settings that shape the vector side or the encoder: a variant cannot change them.
VECTOR_SETTINGS = ("hnsw_min_items", "ef_search", "max_length")


class MemoEncoder(QueryEncoder):
    """A :class:`QueryEncoder` sharing another's session that remembers the vector of each query."""

    def __init__(self, inner: QueryEncoder) -> None:  # no super().__init__: reuses inner's session
        self.__dict__.update(inner.__dict__)
        self._memo: dict[str, np.ndarray] = {}

    def encode_one(self, text: str) -> np.ndarray:
        """Embed one query, or return the vector it got before."""
        vector = self._memo.get(text)
        if vector is None:
            vector = self._memo[text] = super().encode_one(text)
        return vector


def variant(model: HybridSearch, *, encoder: QueryEncoder | None = None, **params: Any) -> HybridSearch:
    """``model`` refit with ``params`` changed, sharing everything those settings do not shape.

    The variant is untuned (as after ``fit`` without judgments): call ``tune`` on it. ``model``
    itself is left as it was.

    Args:
        model: a fitted hybrid model.
        encoder: the variant's query encoder (default: ``model``'s), e.g. a :class:`MemoEncoder`.
        params: ``HybridSearch`` keyword arguments to change (not :data:`VECTOR_SETTINGS`).

    Raises:
        InvalidInputError: an unknown parameter, a vector-side setting, or invalid field weights.
        NotFittedError: ``model`` is not fitted.
    """
    state = model._fitted()
    unknown = sorted(set(params) - set(model.get_params()))
    if unknown:
        raise InvalidInputError(
            f"Unknown HybridSearch settings {unknown}; expected some of {sorted(model.get_params())}",
            field="params",
        )
    fixed = [name for name in VECTOR_SETTINGS if name in params and params[name] != getattr(model, name)]
    if fixed:
        raise InvalidInputError(
            f"A variant shares the vector index, so it cannot change {fixed}; fit a new model instead",
            field="params",
        )
    new = HybridSearch(**{**model.get_params(), **params})
    config, old = new._config(), model._config()
    cat.check_params(new.fusion, FUSIONS, config)
    keyword = state.keyword
    if (config.k1, config.b, config.field_weights) != (old.k1, old.b, old.field_weights):
        bags = token_bags(state.texts, config.field_weights)
        keyword = KeywordIndex.build(bags, k1=config.k1, b=config.b)
    new._set_state(replace(state, keyword=keyword))
    new.encoder_ = encoder or model.encoder_
    new.data_window_ = model.data_window_
    return new._fit_fusion(None)
