"""``Searcher``: what serving may ask a search model; ``LiveCatalog``: the ones that also take
catalog changes while serving.

The learned model (``search.hybrid.HybridSearch``) and its baseline (``search.bm25.BM25Search``)
both are ``Searcher``s (``models.families`` has mypy check it); only the hybrid model is a
``LiveCatalog``, which the catalog routes check with ``isinstance``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import pandas as pd

from search.types import CatalogItem, SearchFilters, SearchResult


class Searcher(Protocol):
    """Ranked search with facets, autocomplete and catalog lookups."""

    def search(
        self, query: str, *, k: int = 10, filters: SearchFilters | None = None, history: Sequence[str] = ()
    ) -> SearchResult:
        """The top ``k`` matches under ``filters`` (``history``: the shopper's recent item ids,
        which a model may use to break near-ties; a model that cannot use it ignores it)."""
        ...

    def suggest(self, prefix: str, *, k: int = 10) -> list[str]:
        """Completions of a partly typed query."""
        ...

    def items(self, item_ids: Sequence[str]) -> list[CatalogItem]:
        """Catalog descriptions of the known ids, in the given order (unknown ids left out)."""
        ...

    def has_item(self, item_id: str) -> bool:
        """Whether the item is in the served catalog."""
        ...

    @property
    def catalog_version(self) -> int:
        """Changes whenever an answer may change (fit, load, a catalog change); unique within the
        process (``search.types.new_catalog_version``), so it keys cached answers."""
        ...


@runtime_checkable
class LiveCatalog(Searcher, Protocol):
    """A searcher whose catalog changes in place: the next query sees the change."""

    @property
    def n_items(self) -> int:
        """Items in the served catalog."""
        ...

    def upsert_items(self, items: pd.DataFrame) -> int:
        """Add or replace items (catalog columns); returns how many."""
        ...

    def delete_items(self, item_ids: Sequence[str]) -> list[str]:
        """Remove items; returns the ids removed."""
        ...
