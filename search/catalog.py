"""The hybrid index's catalog state and its live updates (add, change, delete without retraining).

A :class:`CatalogState` is immutable. An update builds a new state and the model swaps it in
with one attribute assignment, so a search that started on the old state finishes on it,
consistently, while another thread updates (see ``HybridSearch``).

Positions only grow between rebuilds: a changed item gets a new position and its old one is
marked dead, a deleted item's position is marked dead. Every query masks dead positions out
before anything is ranked, so a deleted item can never be returned. :func:`rebuilt` drops the dead
positions and re-indexes both sides (done on ``save`` and by ``HybridSearch.compact``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from embedding.encoder import QueryEncoder
from models.errors import ArtifactError, DataValidationError, InvalidInputError
from models.frames import require_columns
from search.items import ItemTable, normalize_path
from search.keyword import FIELDS, KeywordIndex, field_texts, token_bags
from search.spelling import SpellCorrector
from search.suggest import Suggester, build_vocabulary
from search.vectors import VectorIndex

REQUIRED = ("item_id", "title", "category", "brand", "price", "in_stock")
CATALOG_FILE = "catalog.parquet"


@dataclass(frozen=True)
class IndexConfig:
    """How the two sides are built (the model's hyper-parameters that shape the index)."""

    k1: float
    b: float
    field_weights: Mapping[str, int]
    hnsw_min_items: int
    ef_search: int


@dataclass(frozen=True)
class CatalogState:
    """Everything a query reads, aligned by position."""

    items: ItemTable
    texts: pd.DataFrame  # FIELDS columns, the source of both indexes
    popularity: np.ndarray
    alive: np.ndarray
    keyword: KeywordIndex
    vectors: VectorIndex
    speller: SpellCorrector
    suggester: Suggester
    positions: dict[str, int]  # live item_id -> position

    @property
    def n_dead(self) -> int:
        """Positions that hold a deleted or replaced item."""
        return int(len(self.alive) - self.alive.sum())


def validate_catalog(catalog: pd.DataFrame, *, name: str = "catalog") -> None:
    """Required columns present, at least one row, unique ``item_id``."""
    require_columns(catalog, list(REQUIRED), name=name)
    if catalog.empty:
        raise DataValidationError(f"{name}: has no rows", file=name)
    ids = catalog["item_id"].astype(str)
    dupes = ids[ids.duplicated()]
    if len(dupes):
        raise DataValidationError(
            f"{name}: item_id must be unique; {dupes.iloc[0]!r} appears more than once",
            file=name,
            column="item_id",
            example=dupes.iloc[0],
        )


def check_params(fusion: str, fusions: Sequence[str], config: IndexConfig) -> None:
    """A known fusion name and whole-number field weights >= 0, else ``InvalidInputError``."""
    if fusion not in fusions:
        raise InvalidInputError(f"Unknown fusion {fusion!r}; expected one of {list(fusions)}", field="fusion")
    for name, value in config.field_weights.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInputError(
                f"field weight {name}={value!r} must be an integer >= 0", field="field_weights"
            )


def embed_texts(texts: pd.DataFrame) -> list[str]:
    """What the encoder reads per item: title, then brand and category path when present."""
    out = []
    for title, brand, category in zip(texts["title"], texts["brand"], texts["category"], strict=True):
        parts = [title, brand, normalize_path(category).replace(" > ", ", ")]
        out.append(". ".join(p for p in parts if p))
    return out


def _spell_texts(texts: pd.DataFrame) -> list[str]:
    return (
        texts["title"] + " " + texts["brand"] + " " + texts["category"] + " " + texts["attributes"]
    ).tolist()


def _popularity(catalog: pd.DataFrame) -> np.ndarray:
    if "popularity" not in catalog:
        return np.zeros(len(catalog))
    return pd.to_numeric(catalog["popularity"], errors="coerce").fillna(0.0).clip(lower=0).to_numpy(float)


def _items_and_texts(catalog: pd.DataFrame) -> tuple[ItemTable, pd.DataFrame]:
    frame = catalog.reset_index(drop=True).assign(item_id=lambda f: f["item_id"].astype(str))
    return ItemTable.from_catalog(frame), field_texts(frame)


def build_state(
    catalog: pd.DataFrame, encoder: QueryEncoder, config: IndexConfig, vectors: np.ndarray | None = None
) -> CatalogState:
    """Index a validated catalog: BM25 over field-weighted bags, vectors from ``encoder``."""
    items, texts = _items_and_texts(catalog)
    if vectors is None:
        vectors = encoder.encode(embed_texts(texts))
    return _assemble(items, texts, _popularity(catalog), np.asarray(vectors, np.float32), config)


def _assemble(
    items: ItemTable, texts: pd.DataFrame, popularity: np.ndarray, vectors: np.ndarray, config: IndexConfig
) -> CatalogState:
    keyword = KeywordIndex.build(token_bags(texts, config.field_weights), k1=config.k1, b=config.b)
    return CatalogState(
        items=items,
        texts=texts,
        popularity=popularity,
        alive=np.ones(len(items), dtype=bool),
        keyword=keyword,
        vectors=VectorIndex.build(vectors, hnsw_min_items=config.hnsw_min_items, ef_search=config.ef_search),
        speller=SpellCorrector.from_texts(_spell_texts(texts)),
        suggester=Suggester(*build_vocabulary(items.titles, items.brands, items.categories)),
        positions={item: i for i, item in enumerate(items.item_ids)},
    )


def upserted(
    state: CatalogState, catalog: pd.DataFrame, encoder: QueryEncoder, config: IndexConfig
) -> CatalogState:
    """A state with ``catalog``'s rows added, replacing live items with the same ``item_id``."""
    validate_catalog(catalog, name="items")
    new_items, new_texts = _items_and_texts(catalog)
    vectors = encoder.encode(embed_texts(new_texts))
    old = state.items
    items = ItemTable(
        item_ids=old.item_ids + new_items.item_ids,
        titles=old.titles + new_items.titles,
        categories=old.categories + new_items.categories,
        brands=old.brands + new_items.brands,
        prices=np.concatenate([old.prices, new_items.prices]),
        in_stock=np.concatenate([old.in_stock, new_items.in_stock]),
    )
    alive = np.concatenate([state.alive, np.ones(len(new_items), dtype=bool)])
    positions = dict(state.positions)
    replaced = []
    for offset, item in enumerate(new_items.item_ids):
        if item in positions:
            alive[positions[item]] = False
            replaced.append(positions[item])
        positions[item] = len(old) + offset
    return CatalogState(
        items=items,
        texts=pd.concat([state.texts, new_texts], ignore_index=True),
        popularity=np.concatenate([state.popularity, _popularity(catalog)]),
        alive=alive,
        keyword=state.keyword.with_docs(token_bags(new_texts, config.field_weights)),
        vectors=state.vectors.with_vectors(vectors),
        speller=state.speller.add_texts(_spell_texts(new_texts)),
        suggester=state.suggester.with_items(
            _described(new_items, range(len(new_items))), _described(old, replaced)
        ),
        positions=positions,
    )


def deleted(state: CatalogState, item_ids: Sequence[str]) -> tuple[CatalogState, list[str]]:
    """A state without ``item_ids``; also returns the ids that were live (the others are unknown)."""
    alive = state.alive.copy()
    positions = dict(state.positions)
    removed = []
    for item in dict.fromkeys(str(i) for i in item_ids):
        pos = positions.pop(item, None)
        if pos is not None:
            alive[pos] = False
            removed.append(item)
    gone = [state.positions[item] for item in removed]
    suggester = state.suggester.with_items(removed=_described(state.items, gone))
    return replace(state, alive=alive, positions=positions, suggester=suggester), removed


def _described(items: ItemTable, rows: Sequence[int]) -> list[tuple[str, str, str]]:
    """``(title, brand, category)`` of the items at ``rows`` (what the suggester counts)."""
    return [(items.titles[r], items.brands[r], items.categories[r]) for r in rows]


def rebuilt(state: CatalogState, config: IndexConfig) -> CatalogState:
    """Drop dead positions and re-index both sides over the live items (no re-encoding)."""
    if not state.n_dead and not len(state.keyword.delta) and not len(state.vectors.tail):
        return state
    live = np.flatnonzero(state.alive)
    old = state.items
    items = ItemTable(
        item_ids=[old.item_ids[i] for i in live],
        titles=[old.titles[i] for i in live],
        categories=[old.categories[i] for i in live],
        brands=[old.brands[i] for i in live],
        prices=old.prices[live],
        in_stock=old.in_stock[live],
    )
    texts = state.texts.iloc[live].reset_index(drop=True)
    return _assemble(items, texts, state.popularity[live], state.vectors.vectors(live), config)


def write_catalog(state: CatalogState, path: Path) -> None:
    """Item metadata, field texts and popularity as one parquet file (positions in order)."""
    items = state.items
    frame = pd.DataFrame(
        {
            "item_id": items.item_ids,
            "title": items.titles,
            "category": items.categories,
            "brand": items.brands,
            "price": items.prices,
            "in_stock": items.in_stock,
            "popularity": state.popularity,
        }
    )
    for name in FIELDS:
        frame[f"text_{name}"] = state.texts[name].to_numpy()
    frame.to_parquet(path / CATALOG_FILE, index=False)


def read_state(path: Path, config: IndexConfig, vectors: VectorIndex, keyword: KeywordIndex) -> CatalogState:
    """Rebuild a state from :func:`write_catalog`'s file and the loaded indexes."""
    frame = pd.read_parquet(path / CATALOG_FILE)
    items = ItemTable(
        item_ids=frame["item_id"].astype(str).tolist(),
        titles=frame["title"].astype(str).tolist(),
        categories=frame["category"].astype(str).tolist(),
        brands=frame["brand"].astype(str).tolist(),
        prices=frame["price"].to_numpy(dtype=np.float64),
        in_stock=frame["in_stock"].to_numpy(dtype=bool),
    )
    texts = pd.DataFrame({name: frame[f"text_{name}"].astype(str) for name in FIELDS})
    if not (len(items) == len(keyword) == len(vectors)):
        raise ArtifactError(
            f"{path}: {len(items)} items, {len(keyword)} keyword and {len(vectors)} vector rows; "
            "the artifact is corrupt"
        )
    return CatalogState(
        items=items,
        texts=texts,
        popularity=frame["popularity"].to_numpy(dtype=np.float64),
        alive=np.ones(len(items), dtype=bool),
        keyword=keyword,
        vectors=vectors,
        speller=SpellCorrector.from_texts(_spell_texts(texts)),
        suggester=Suggester(*build_vocabulary(items.titles, items.brands, items.categories)),
        positions={item: i for i, item in enumerate(items.item_ids)},
    )
