"""``PopularityRecommender``: the recommendations baseline that every learned model must beat.

It ranks by time-decayed, event-weighted popularity, scoped to categories where the query gives
context (session items, a product page), and by co-purchase association for "bought together".
Queries are vectorised: candidates are kept pre-sorted by popularity, so a query is a few boolean
masks and a slice, well under a millisecond on a 20k-item catalog.

Fallback chain (cold users and unknown ids are not errors where a fallback exists):
``recommend`` with session items -> popular in their leaf categories -> in their parents ... ->
popular overall. Session, history and excluded ids the model does not know are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.artifact import check_is_fitted, load_npz, save_npz
from models.base import ModelBase
from models.errors import ArtifactError, InvalidInputError, UnknownIdError
from models.frames import require_columns
from recsys.categories import category_codes, normalise_path
from recsys.filters import check_filter, check_k, positions
from recsys.interactions import (
    CoPurchases,
    brand_codes,
    catalog_arrays,
    co_purchases,
    decayed_popularity,
    known_events,
    resolve_event_weights,
)
from recsys.ranking import RankingIndex, Tier
from recsys.rules import check_cap, consumable_mask
from recsys.types import ItemFilter, Recommendations

EVENT_COLUMNS = ("user_id", "item_id", "event_type", "timestamp")
CATALOG_COLUMNS = ("item_id", "title", "category", "price", "in_stock")
PAYLOAD = "arrays.npz"
_ARRAYS = ("item_ids", "titles", "categories", "prices", "in_stock", "scores")
_OPTIONAL_ARRAYS = ("brands",)  # absent from artifacts saved before brand caps: no brand known
_PAIR_ARRAYS = ("pair_indptr", "pair_indices", "pair_scores")


class PopularityRecommender(ModelBase):
    """Time-decayed popularity, category scoping and co-purchase rules.

    Args:
        half_life_days: an event counts half after this many days (measured back from the latest
            event in the training data).
        event_weights: weight per event type; ``None`` means
            ``{"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}``. Other types count zero.
        min_support: fewest orders two items must share to be "bought together".
        random_state: unused (the baseline is deterministic); kept for the common lifecycle.
    """

    family = "recsys"
    model_type = "popularity"
    format_version = 1

    # Learned attributes exist only after ``fit``/``load`` (scikit-learn convention).
    item_ids_: np.ndarray
    titles_: np.ndarray
    categories_: np.ndarray
    prices_: np.ndarray
    in_stock_: np.ndarray
    brands_: np.ndarray
    leaf_codes_: np.ndarray  # derived from categories_ and brands_ (not saved)
    brand_codes_: np.ndarray
    scores_: np.ndarray
    pairs_: CoPurchases
    index_: dict[str, int]
    ranking_: RankingIndex
    data_window_: dict[str, Any]

    def __init__(
        self,
        *,
        half_life_days: float = 14.0,
        event_weights: Mapping[str, float] | None = None,
        min_support: int = 2,
        random_state: int = 0,
    ) -> None:
        self.half_life_days = half_life_days
        self.event_weights = event_weights
        self.min_support = min_support
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, events: pd.DataFrame, catalog: pd.DataFrame) -> PopularityRecommender:
        """Learn popularity and co-purchases from ``events`` over the items of ``catalog``.

        The catalog is the source of truth: events for items it lacks are ignored, and catalog
        items without events are still recommendable (with score 0).

        Args:
            events: columns ``user_id, item_id, event_type, timestamp`` (+ optional ``order_id``).
            catalog: columns ``item_id, title, category, price, in_stock``.

        Returns:
            ``self``.

        Raises:
            DataValidationError: a frame is empty or lacks a required column (named).
            InvalidInputError: a hyper-parameter is out of range.
        """
        weights = self._checked_params()
        require_columns(catalog, CATALOG_COLUMNS, name="catalog")
        require_columns(events, EVENT_COLUMNS, name="events")
        items = catalog_arrays(catalog)
        index = pd.Index(items["item_ids"])
        known = known_events(events, index)
        item_idx = known["item"].to_numpy()
        scores = decayed_popularity(
            item_idx,
            known["event_type"].to_numpy(),
            known["timestamp"].to_numpy(),
            len(index),
            half_life_days=float(self.half_life_days),
            event_weights=weights,
        )
        bought = known[(known["event_type"] == "purchase") & known["order_id"].notna()]
        pairs = co_purchases(
            bought["item"].to_numpy(),
            bought["order_id"].to_numpy(),
            len(index),
            min_support=int(self.min_support),
        )
        self._set_state(**items, scores=scores, pairs=pairs)
        ts = known["timestamp"]
        self.data_window_ = {
            "start": ts.min().isoformat() if len(ts) else None,
            "end": ts.max().isoformat() if len(ts) else None,
            "rows": int(len(known)),
        }
        return self

    def _checked_params(self) -> dict[str, float]:
        half_life = self.half_life_days
        if isinstance(half_life, bool) or not isinstance(half_life, int | float) or not half_life > 0:
            raise InvalidInputError(
                f"half_life_days must be a number > 0, got {half_life!r}",
                field="half_life_days",
                value=half_life,
            )
        support = self.min_support
        if isinstance(support, bool) or not isinstance(support, int) or support < 1:
            raise InvalidInputError(
                f"min_support must be an integer >= 1, got {support!r}", field="min_support", value=support
            )
        return resolve_event_weights(self.event_weights)

    def _set_state(
        self, *, item_ids, titles, categories, prices, in_stock, scores, pairs: CoPurchases, brands=None
    ) -> None:
        """Install learned arrays and derive the query structures (shared by ``fit`` and ``load``)."""
        self.item_ids_, self.titles_, self.categories_ = item_ids, titles, categories
        self.prices_, self.in_stock_, self.scores_, self.pairs_ = prices, in_stock, scores, pairs
        self.brands_ = np.full(len(item_ids), "", dtype=str) if brands is None else brands
        self.index_ = {item: pos for pos, item in enumerate(item_ids.tolist())}
        self.ranking_ = RankingIndex(item_ids, categories, prices, in_stock, scores)
        # Integer codes for the diversity caps (-1: no category / no brand, never capped).
        self.leaf_codes_, _ = category_codes(categories)
        self.brand_codes_ = brand_codes(self.brands_)

    # ------------------------------------------------------------------ queries
    def recommend(
        self,
        *,
        user_id: str | None = None,
        history_item_ids: Iterable[str] = (),
        session_item_ids: Iterable[str] = (),
        k: int = 10,
        filters: ItemFilter | None = None,
        exclude_item_ids: Iterable[str] = (),
        max_per_category: int | None = None,
        max_per_brand: int | None = None,
        consumable_categories: Sequence[str] | None = None,
        recommend_viewed: bool = False,
        session_event_types: Iterable[str] | None = None,
    ) -> Recommendations:
        """Items for a shopper: popular in the categories of the session, else popular overall.

        Args:
            user_id: accepted for the common API; the baseline does not personalise by user.
            history_item_ids: items the user already bought; never recommended.
            session_item_ids: recently viewed/carted items; their categories (leaf first, then
                parents) are ranked first, and they are not recommended unless
                ``recommend_viewed``. Unknown ids are ignored; when none is known the answer is
                the popular list (``source="popular"``).
            k: number of items wanted (fewer when fewer items pass the filters).
            filters: constraints; ``None`` means ``ItemFilter()`` (in-stock items only).
            exclude_item_ids: items never to return (e.g. already shown).
            max_per_category: most items per leaf category (diversity cap; ``None``: no cap).
            max_per_brand: most items per brand (``None``: no cap).
            consumable_categories: category path prefixes whose items may be bought again: the
                shopper's purchases under them are not excluded.
            recommend_viewed: the session's items may be recommended (re-recommendation).
            session_event_types: accepted for the common API (each session item counts the same).
        """
        del session_event_types
        k, flt = check_k(k), check_filter(filters)
        max_per_category = check_cap(max_per_category, "max_per_category")
        max_per_brand = check_cap(max_per_brand, "max_per_brand")
        self._check_fitted()
        session = list(dict.fromkeys(positions(session_item_ids, self.index_)))
        bought = np.asarray(positions(history_item_ids, self.index_), dtype=np.int64)
        if consumable_categories and len(bought):
            bought = bought[~consumable_mask(bought, self.ranking_.categories, consumable_categories)]
        excluded = {*bought.tolist(), *positions(exclude_item_ids, self.index_)}
        tiers: Iterable[Tier] = [self.ranking_.popular_tier("Popular right now")]
        if session:
            tiers = chain(self.ranking_.category_tiers(session, "Popular in {}"), tiers)
        caps = (self.leaf_codes_, self.brand_codes_, max_per_category, max_per_brand)
        skip = excluded if recommend_viewed else excluded | set(session)
        return Recommendations(
            self.ranking_.take(tiers, flt, skip, k, caps), "session" if session else "popular"
        )

    def similar_items(
        self, item_id: str, *, k: int = 10, filters: ItemFilter | None = None
    ) -> Recommendations:
        """The most popular items of the same leaf category, then of its parents; never the item.

        Raises:
            UnknownIdError: the item is not in the catalog the model was fit on.
        """
        k, flt = check_k(k), check_filter(filters)
        item = self._position(item_id)
        items = self.ranking_.take(self.ranking_.context_tiers(item), flt, {item}, k)
        return Recommendations(items, "similar")

    def bought_together(
        self, item_id: str, *, k: int = 10, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Items often bought in the same order, filled with same-category popular items.

        Raises:
            UnknownIdError: the item is not in the catalog the model was fit on.
        """
        k, flt = check_k(k), check_filter(filters)
        item = self._position(item_id)
        partners, confidence = self.pairs_.partners(item)
        reason = f"Often bought with {self.titles_[item]}"
        tiers = chain([Tier(partners, confidence, lambda _: reason)], self.ranking_.context_tiers(item))
        return Recommendations(self.ranking_.take(tiers, flt, {item}, k), "bought_together")

    def trending(
        self, *, k: int = 10, category: str | None = None, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Items by time-decayed popularity, optionally under a category path prefix.

        An unknown ``category`` gives an empty list (nothing matches), not an error.
        """
        k, flt = check_k(k), check_filter(filters)
        self._check_fitted()
        if category is None or not normalise_path(category):
            return Recommendations(
                self.ranking_.take([self.ranking_.popular_tier("Trending")], flt, set(), k), "trending"
            )
        found = self.ranking_.categories.find(category)
        if found is None:
            return Recommendations([], "trending")
        tier = self.ranking_.members_tier([found], "Trending in {}")
        return Recommendations(self.ranking_.take([tier], flt, set(), k), "trending")

    # ------------------------------------------------------------------ catalog state
    def has_item(self, item_id: str) -> bool:
        """Whether the item is in the catalog the model knows."""
        self._check_fitted()
        return str(item_id) in self.index_

    def item_title(self, item_id: str) -> str:
        """The catalog title of an item. Raises ``UnknownIdError`` for an unknown item."""
        return str(self.titles_[self._position(item_id)])

    def set_stock(self, item_ids: Sequence[str] | str, in_stock: Sequence[bool] | bool) -> list[str]:
        """Update stock flags in place; the next query sees them.

        Args:
            item_ids: the items to update.
            in_stock: one flag per item, or a single flag for all of them.

        Returns:
            The ids the model does not know (ignored).

        Raises:
            InvalidInputError: the lengths differ or a flag is not a boolean.
        """
        self._check_fitted()
        ids = [item_ids] if isinstance(item_ids, str) else [str(i) for i in item_ids]
        flags = [in_stock] * len(ids) if isinstance(in_stock, bool | np.bool_) else list(in_stock)
        if len(flags) != len(ids):
            raise InvalidInputError(
                f"in_stock has {len(flags)} flags for {len(ids)} item_ids; give one per item",
                field="in_stock",
            )
        bad = next((f for f in flags if not isinstance(f, bool | np.bool_)), None)
        if bad is not None:
            raise InvalidInputError(
                f"in_stock flags must be booleans, got {bad!r}", field="in_stock", value=bad
            )
        known = [(self.index_[i], bool(f)) for i, f in zip(ids, flags, strict=True) if i in self.index_]
        if known:
            where, values = zip(*known, strict=True)
            self.in_stock_[list(where)] = values
        return [i for i in ids if i not in self.index_]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``meta.json`` and ``arrays.npz`` (no pickles) to ``directory``; returns it."""
        self._check_fitted()
        path = self._write_meta(
            directory, extra={"n_items": len(self.item_ids_), "n_pairs": self.pairs_.n_pairs}
        )
        arrays = {name: getattr(self, f"{name}_") for name in (*_ARRAYS, *_OPTIONAL_ARRAYS)}
        pairs = dict(
            zip(_PAIR_ARRAYS, (self.pairs_.indptr, self.pairs_.indices, self.pairs_.scores), strict=True)
        )
        save_npz(path / PAYLOAD, **arrays, **pairs)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> PopularityRecommender:
        """Load a model written by ``save``.

        Raises:
            ArtifactError: the directory holds another family/model type/version, or a payload
                array is missing.
        """
        meta = cls._read_meta(directory)
        arrays = load_npz(Path(directory) / PAYLOAD)
        missing = [name for name in (*_ARRAYS, *_PAIR_ARRAYS) if name not in arrays]
        if missing:
            raise ArtifactError(f"{Path(directory) / PAYLOAD} lacks arrays {missing}; re-save the model")
        known = cls().get_params()
        model = cls(**{k: v for k, v in meta.get("params", {}).items() if k in known})
        pairs = CoPurchases(*(arrays[name] for name in _PAIR_ARRAYS))
        state = {name: arrays[name] for name in (*_ARRAYS, *_OPTIONAL_ARRAYS) if name in arrays}
        state["in_stock"] = state["in_stock"].astype(bool, copy=True)  # writable for set_stock
        model._set_state(**state, pairs=pairs)
        model.data_window_ = dict(meta.get("data_window", {}))
        return model

    # ------------------------------------------------------------------ internals
    def _check_fitted(self) -> None:
        check_is_fitted(self, ("item_ids_", "scores_"))

    def _position(self, item_id: str) -> int:
        self._check_fitted()
        pos = self.index_.get(str(item_id))
        if pos is None:
            raise UnknownIdError("item", item_id, field="item_id")
        return pos
