"""The search baseline: BM25 over catalog text (the ``bm25s`` library), filters, facets, autocomplete.

A query is tokenised like the catalog (:mod:`search.text`), every item holding at least one query
token is a match, filters are applied to all matches, and only then are the matches ranked and
cut to ``k``. So a filter can never leak an item in, nor shrink a page below ``k`` when enough
items pass, and ``total`` and the facets describe exactly the filtered match set.

Saved artifacts are pickle-free: bm25s writes its sparse score matrix as ``.npy`` (saved and
loaded with ``allow_pickle=False``) plus JSON vocabulary and parameters; item metadata is
parquet and the autocomplete vocabulary is JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast

import bm25s
import numpy as np
import pandas as pd

from models.artifact import check_is_fitted
from models.base import ModelBase
from models.errors import ArtifactError, DataValidationError, InvalidInputError
from models.frames import require_columns
from search.items import ItemTable, check_filters
from search.suggest import Suggester, build_vocabulary
from search.text import tokenize
from search.types import CatalogItem, SearchFilters, SearchResult, new_catalog_version

INDEX_DIR = "bm25s"
ITEMS_FILE = "items.parquet"
SUGGEST_FILE = "suggest.json"
_LEARNED = ("index_", "vocab_", "items_", "suggester_", "data_window_")


class _Fitted(NamedTuple):
    """The learned state, non-optional: what query methods read after the fitted check."""

    index: bm25s.BM25
    vocab: dict[str, int]
    items: ItemTable
    suggester: Suggester


class BM25Search(ModelBase):
    """Keyword product search: BM25 ranking with filters, facets and query autocomplete.

    Args:
        k1: BM25 term-frequency saturation.
        b: BM25 document-length normalisation (0 = none, 1 = full).
        fields: catalog text columns indexed as one bag of tokens per item.
        title_boost: how many times title tokens are repeated in an item's bag (when ``"title"``
            is one of ``fields``); titles are short and precise, so they should weigh more.
        random_state: kept for the shared lifecycle; BM25 itself is deterministic.

    Example:
        >>> model = BM25Search().fit(catalog)
        >>> model.search("non-stick pans", k=5, filters=SearchFilters(in_stock_only=True))
    """

    family = "search"
    model_type = "bm25"
    format_version = 1

    def __init__(
        self,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        fields: Sequence[str] = ("title", "description", "category", "brand"),
        title_boost: int = 2,
        random_state: int = 0,
    ) -> None:
        self.k1 = k1
        self.b = b
        self.fields = fields
        self.title_boost = title_boost
        self.random_state = random_state
        self.index_: bm25s.BM25 | None = None
        self.vocab_: dict[str, int] | None = None
        self.items_: ItemTable | None = None
        self.suggester_: Suggester | None = None
        self.data_window_: dict[str, Any] | None = None
        self.catalog_version = 0  # a fresh number at fit and load (search.interface.Searcher)

    # ------------------------------------------------------------------ fit
    def fit(self, catalog: pd.DataFrame) -> BM25Search:
        """Index every catalog row.

        Args:
            catalog: the normalised catalog frame (docs/ARCHITECTURE.md). Needs ``item_id``,
                ``category``, ``brand``, ``price``, ``in_stock`` and every column in ``fields``.

        Returns:
            self, fitted.

        Raises:
            DataValidationError: a required column is missing, the frame is empty, an
                ``item_id`` repeats, or no row has any indexable word.
            InvalidInputError: ``title_boost`` is not a positive integer.
        """
        fields = list(self.fields)
        _validate_catalog(catalog, fields, self.title_boost)
        docs = self._documents(catalog, fields)
        self.index_, self.vocab_ = _build_index(docs, k1=self.k1, b=self.b)
        self.items_ = ItemTable.from_catalog(catalog)
        items = self.items_
        self.suggester_ = Suggester(*build_vocabulary(items.titles, items.brands, items.categories))
        self.data_window_ = _data_window(catalog)
        self.catalog_version = new_catalog_version()
        return self

    def _documents(self, catalog: pd.DataFrame, fields: list[str]) -> list[list[str]]:
        """One token bag per row: title tokens ``title_boost`` times, then the other fields."""
        texts = {f: catalog[f].fillna("").astype(str).tolist() for f in fields}
        docs = []
        for row in range(len(catalog)):
            bag: list[str] = []
            for f in fields:
                tokens = tokenize(texts[f][row])
                bag.extend(tokens * self.title_boost if f == "title" else tokens)
            docs.append(bag)
        return docs

    # ------------------------------------------------------------------ query
    def search(
        self, query: str, *, k: int = 10, filters: SearchFilters | None = None, history: Sequence[str] = ()
    ) -> SearchResult:
        """Rank the items matching ``query`` (at least one shared token) by BM25.

        Args:
            query: free text; tokenised like the catalog.
            k: the most hits to return (at least 1).
            filters: restrictions applied to every match before the cut to ``k``.
            history: accepted for the common interface (``search.interface``) and ignored: the
                baseline does not personalise.

        Returns:
            Up to ``k`` hits sorted by score (ties: catalog order), facets and the total over
            all filtered matches. A query without any catalog word gives no hits and total 0.

        Raises:
            InvalidInputError: ``query`` is not a non-blank string (``field="query"``), ``k``
                is not an integer >= 1 (``field="k"``), or ``filters`` is invalid.
            NotFittedError: before ``fit`` or ``load``.
        """
        del history
        state = self._fitted()
        items = state.items
        _check_text(query, "query")
        _check_k(k)
        filters = check_filters(filters)
        rows, scores = _match(state, query)
        keep = items.keep_mask(rows, filters)
        rows, scores = rows[keep], scores[keep]
        top = _top_k(scores, k)
        hits = items.hits(rows[top], scores[top])
        return SearchResult(hits=hits, facets=items.facets(rows), total=int(len(rows)))

    def has_item(self, item_id: str) -> bool:
        """Whether ``item_id`` is a catalog item."""
        return str(item_id) in self._fitted().items.rows()

    def items(self, item_ids: Sequence[str]) -> list[CatalogItem]:
        """The catalog items among ``item_ids``, in the order asked (unknown ids left out)."""
        table = self._fitted().items
        rows = table.rows()
        return [table.describe(rows[i]) for i in item_ids if i in rows]

    def match_ids(self, query: str, *, filters: SearchFilters | None = None) -> list[str]:
        """Ids of every item sharing a token with ``query`` and passing ``filters``, catalog order.

        Evaluation uses this for an unranked baseline over exactly the set BM25 ranks.
        """
        state = self._fitted()
        _check_text(query, "query")
        rows, _ = _match(state, query)
        rows = rows[state.items.keep_mask(rows, check_filters(filters))]
        return [state.items.item_ids[r] for r in rows]

    def _fitted(self) -> _Fitted:
        """The learned state; raises ``NotFittedError`` before ``fit``/``load``."""
        check_is_fitted(self, _LEARNED)
        return _Fitted(
            cast(bm25s.BM25, self.index_),
            cast(dict, self.vocab_),
            cast(ItemTable, self.items_),
            cast(Suggester, self.suggester_),
        )

    def suggest(self, prefix: str, *, k: int = 10) -> list[str]:
        """Complete a partly typed query from catalog words, phrases, brands and categories.

        Args:
            prefix: what the shopper typed; matched case-insensitively.
            k: the most completions to return (at least 1).

        Returns:
            Up to ``k`` lowercase completions of the whole typed text, most frequent first
            (see :meth:`search.suggest.Suggester.complete`); ``[]`` for blank text.

        Raises:
            InvalidInputError: ``prefix`` is not a string or ``k`` is not an integer >= 1.
            NotFittedError: before ``fit`` or ``load``.
        """
        suggester = self._fitted().suggester
        if not isinstance(prefix, str):
            raise InvalidInputError(
                f"prefix must be a string, got {type(prefix).__name__}", field="prefix", value=prefix
            )
        _check_k(k)
        return suggester.complete(prefix, k)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``meta.json``, the bm25s index, item metadata and the suggestion vocabulary."""
        state = self._fitted()
        path = self._write_meta(directory, extra={"n_items": len(state.items), "n_terms": len(state.vocab)})
        state.index.save(path / INDEX_DIR, show_progress=False)
        state.items.write(path / ITEMS_FILE)
        suggest = {"terms": state.suggester.terms, "weights": state.suggester.weights.tolist()}
        (path / SUGGEST_FILE).write_text(json.dumps(suggest, ensure_ascii=False))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> BM25Search:
        """Load a model saved by :meth:`save`; checks family, type and version first.

        Raises:
            ArtifactError: not a search/bm25 v1 directory, or a payload is missing.
        """
        path = Path(directory)
        meta = cls._read_meta(path)
        for name in (INDEX_DIR, ITEMS_FILE, SUGGEST_FILE):
            if not (path / name).exists():
                raise ArtifactError(f"Missing payload {path / name} of a search/bm25 model")
        params = meta["params"]
        model = cls(**{**params, "fields": tuple(params["fields"])})
        model.index_ = bm25s.BM25.load(path / INDEX_DIR, allow_pickle=False, show_progress=False)
        model.vocab_ = model.index_.vocab_dict
        model.items_ = ItemTable.read(path / ITEMS_FILE)
        if model.index_.scores["num_docs"] != len(model.items_):
            raise ArtifactError(
                f"{path}: the index has {model.index_.scores['num_docs']} documents but "
                f"{ITEMS_FILE} has {len(model.items_)} items; the artifact is corrupt"
            )
        suggest = json.loads((path / SUGGEST_FILE).read_text())
        model.suggester_ = Suggester(suggest["terms"], np.asarray(suggest["weights"], dtype=np.int64))
        model.data_window_ = meta.get("data_window") or {}
        model.catalog_version = new_catalog_version()
        return model


def _validate_catalog(catalog: pd.DataFrame, fields: list[str], title_boost: object) -> None:
    """Check the columns ``fit`` reads, the unique ids and ``title_boost`` (see ``fit``)."""
    require_columns(catalog, ["item_id", *fields, "category", "brand", "price", "in_stock"], name="catalog")
    if isinstance(title_boost, bool) or not isinstance(title_boost, int) or title_boost < 1:
        raise InvalidInputError(
            f"title_boost must be a positive integer, got {title_boost!r}", field="title_boost"
        )
    ids = catalog["item_id"].astype(str)
    dupes = ids[ids.duplicated()]
    if len(dupes):
        raise DataValidationError(
            f"catalog: item_id must be unique; {dupes.iloc[0]!r} appears more than once "
            f"({dupes.nunique()} ids repeat)",
            file="catalog",
            column="item_id",
            example=dupes.iloc[0],
        )


def _build_index(docs: list[list[str]], *, k1: float, b: float) -> tuple[bm25s.BM25, dict[str, int]]:
    """A bm25s index over token bags, with a sorted (hence reproducible) vocabulary."""
    vocab = {t: i for i, t in enumerate(sorted({t for doc in docs for t in doc}))}
    if not vocab:
        raise DataValidationError(
            "catalog: no row has any indexable word in the configured fields", file="catalog"
        )
    index = bm25s.BM25(k1=k1, b=b)
    # The (token ids, vocab) form skips bm25s's own vocabulary, which is built from a set and so
    # differs between processes; create_empty_token=False keeps every vocab id inside the matrix.
    index.index(
        ([[vocab[t] for t in doc] for doc in docs], vocab), create_empty_token=False, show_progress=False
    )
    return index, vocab


def _match(state: _Fitted, query: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions (ascending) of the items holding any query token, and their BM25 scores."""
    # A repeated query word counts once: "pan pan" should not rank differently from "pan".
    token_ids = list(dict.fromkeys(state.vocab[t] for t in tokenize(query) if t in state.vocab))
    if not token_ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    scores = state.index.get_scores_from_ids(token_ids)
    indptr, indices = state.index.scores["indptr"], state.index.scores["indices"]
    matched = np.zeros(len(scores), dtype=bool)
    for t in token_ids:  # postings of each token: the items that contain it
        matched[indices[indptr[t] : indptr[t + 1]]] = True
    rows = np.flatnonzero(matched)
    return rows, scores[rows]


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores, best first; ties keep the lower position first."""
    if len(scores) > k:
        # Everything tied with the k-th best stays a candidate, so the tie-break is exact.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        pick = np.flatnonzero(scores >= kth)
    else:
        pick = np.arange(len(scores))
    return pick[np.lexsort((pick, -scores[pick]))][:k]


def _check_text(value: object, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            f"{field} must be a non-empty string, got {value!r}", field=field, value=value
        )


def _check_k(k: object) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInputError(f"k must be an integer >= 1, got {k!r}", field="k", value=k)


def _data_window(catalog: pd.DataFrame) -> dict[str, Any]:
    """Catalog size plus its ``created_at`` range when the column is there."""
    window: dict[str, Any] = {"start": None, "end": None, "rows": int(len(catalog))}
    if "created_at" in catalog.columns:
        created = pd.to_datetime(catalog["created_at"], errors="coerce").dropna()
        if len(created):
            window.update(start=created.min().isoformat(), end=created.max().isoformat())
    return window
