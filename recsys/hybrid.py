"""``HybridRecommender``: several candidate sources, a LightGBM LambdaRank re-ranker, business rules.

``recommend`` folds the shopper's stored history and their online events (``session_item_ids``,
``history_item_ids``) into one profile, scores it with every source (ALS fold-in, co-visitation,
co-purchase, content, category popularity; see ``recsys.sources``), merges the candidates,
re-ranks them (or orders them by the best single source when the re-ranker did not beat it on
validation) and applies the rules of ``recsys.rules``. Fallbacks: without any known item the
answer is trending (``source="trending"``); short lists are filled with items similar to the
session, then trending. The popularity baseline is embedded for catalog state, trending and
filters, so ``set_stock`` on the hybrid model affects every query at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.artifact import check_is_fitted, load_npz, save_npz
from models.base import ModelBase
from models.frames import require_columns
from recsys import hybrid_fit as hf
from recsys.candidates import FEATURE_NAMES
from recsys.item_pages import ItemPages
from recsys.parts import HybridParts
from recsys.popularity import CATALOG_COLUMNS, EVENT_COLUMNS, PopularityRecommender
from recsys.precomputed import PrefixLists, RankedLists
from recsys.reranker import load_booster, order_source, train_reranker
from recsys.shopper_queries import QueryOptions, ShopperQueries
from recsys.types import ItemFilter, Recommendations
from trees.batch import TreeScorer

PAYLOAD = "hybrid.npz"
RERANKER = "reranker.txt"
BASELINE_DIR = "baseline"


class HybridRecommender(ModelBase):
    """Multi-source candidates + LambdaRank re-ranking + business rules (see the module docstring).

    Args:
        half_life_days: an event counts half after this many days (popularity, profiles).
        event_weights: weight per event type (``None``: view 1, add_to_cart 3, purchase 5).
        min_support: fewest shared orders for a co-purchase pair.
        factors, regularization, alpha, iterations: implicit ALS settings.
        covisit_window: largest sequence lag counted as co-visitation.
        covisit_backward: weight of "seen before" relative to "seen after" in co-visitation.
        max_recent: newest distinct items of a profile that seed the item-to-item sources.
        recent_half_life: recency weight of a seed halves every this many positions.
        per_source: candidates taken from each source.
        use_content: embed catalog texts (MiniLM) for the content source.
        rerank_split: ``"time"`` (last ``rerank_fraction`` of the time span is the label window)
            or ``"last"`` (each user's last event, for sequence data without real time).
        rerank_fraction: label-window share of the time span.
        rerank_max_users: most label-window users the re-ranker trains on (seeded sample).
        rerank_rounds: boosting rounds.
        rerank: train the re-ranker at all (``False``: candidates keep the order of the source that
            ranks best alone, and the fit skips the label-window pass).
        label_event_types: event types that count as a positive label (``None``: any).
        exclude_seen: never recommend items already in the profile (leave-one-out protocols).
        consumable_categories: category prefixes whose purchased items may be recommended again.
        precompute_users: rank this many known users' candidates at fit time (longest histories
            first; 0: none), so their requests without new events skip candidate generation and
            re-ranking (``recsys.precomputed``; same answers, ~5 bytes per candidate).
        precompute_items: keep the start of the similar-items ranking of this many items (most
            popular first; 0: none); their pages read it unless a filter reads past it.
        random_state: seeds ALS, the label-window sample and LightGBM.
    """

    family = "recsys"
    model_type = "hybrid"
    format_version = 1

    def __init__(
        self,
        *,
        half_life_days: float = 14.0,
        event_weights: Mapping[str, float] | None = None,
        min_support: int = 2,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 2.0,
        iterations: int = 15,
        covisit_window: int = 3,
        covisit_backward: float = 0.5,
        max_recent: int = 20,
        recent_half_life: float = 3.0,
        per_source: int = 50,
        use_content: bool = True,
        rerank_split: str = "time",
        rerank_fraction: float = 0.2,
        rerank_max_users: int = 5000,
        rerank_rounds: int = 150,
        rerank: bool = True,
        label_event_types: Sequence[str] | None = ("purchase", "add_to_cart"),
        exclude_seen: bool = False,
        consumable_categories: Sequence[str] = (),
        precompute_users: int = 100_000,
        precompute_items: int = 100_000,
        random_state: int = 0,
    ) -> None:
        self.half_life_days, self.event_weights, self.min_support = half_life_days, event_weights, min_support
        self.factors, self.regularization, self.alpha, self.iterations = (
            factors,
            regularization,
            alpha,
            iterations,
        )
        self.covisit_window, self.covisit_backward = covisit_window, covisit_backward
        self.max_recent, self.recent_half_life, self.per_source = max_recent, recent_half_life, per_source
        self.use_content, self.rerank_split, self.rerank_fraction = use_content, rerank_split, rerank_fraction
        self.rerank_max_users, self.rerank_rounds = rerank_max_users, rerank_rounds
        self.rerank = rerank
        self.label_event_types, self.exclude_seen = label_event_types, exclude_seen
        self.consumable_categories, self.random_state = consumable_categories, random_state
        self.precompute_users, self.precompute_items = precompute_users, precompute_items

    _PARAMS = (
        "half_life_days",
        "event_weights",
        "min_support",
        "factors",
        "regularization",
        "alpha",
        "iterations",
        "covisit_window",
        "covisit_backward",
        "max_recent",
        "recent_half_life",
        "per_source",
        "use_content",
        "rerank_split",
        "rerank_fraction",
        "rerank_max_users",
        "rerank_rounds",
        "rerank",
        "label_event_types",
        "exclude_seen",
        "consumable_categories",
        "precompute_users",
        "precompute_items",
        "random_state",
    )

    # ------------------------------------------------------------------ fitting
    def fit(self, events: pd.DataFrame, catalog: pd.DataFrame, *, embeddings: np.ndarray | None = None):
        """Fit the sources on all events; train the re-ranker on a later label window first.

        Args:
            events: columns ``user_id, item_id, event_type, timestamp`` (+ optional ``order_id``).
            catalog: columns ``item_id, title, category, price, in_stock`` (+ optional ``brand``,
                ``created_at``, ``description``).
            embeddings: precomputed L2-normalised text vectors, one per distinct catalog id in
                catalog order (last duplicate wins); ``None`` embeds with MiniLM when
                ``use_content``.

        Returns:
            ``self``.

        Raises:
            DataValidationError: a frame is empty or lacks a required column.
            InvalidInputError: a hyper-parameter is out of range or ``embeddings`` has the wrong shape.
        """
        params = hf.checked_params(self)
        require_columns(catalog, CATALOG_COLUMNS, name="catalog")
        require_columns(events, EVENT_COLUMNS, name="events")
        popular = PopularityRecommender(
            half_life_days=self.half_life_days,
            event_weights=self.event_weights,
            min_support=self.min_support,
        ).fit(events, catalog)
        frame = hf.catalog_extras(catalog)
        n_items = len(popular.item_ids_)
        clock = hf.Clock()
        content = hf.content_table(frame, embeddings, n_items, use_content=bool(self.use_content))
        clock.lap("content")
        base = hf.catalog_base(popular, frame)
        known = hf.known_with_users(events, pd.Index(popular.item_ids_))
        booster, report = self._fit_reranker(known, n_items, base, content, params, clock)
        fitted = hf.fit_sources(known, n_items, base, content=content, params=params, seed=self.random_state)
        clock.lap("sources_final")
        best = order_source(report)
        self.booster_, self.order_source_, self.report_ = booster, best, report
        self._install(
            HybridParts.build(
                popular,
                fitted.history,
                fitted.item_factors,
                fitted.covisit,
                content,
                fitted.attrs,
                base,
                regularization=float(self.regularization),
                alpha=float(self.alpha),
            )
        )
        self.ranked_ = self.shoppers_.precompute(int(self.precompute_users))
        self.similar_ = self.pages_.precompute_similar(int(self.precompute_items))
        clock.lap("precompute")
        self.timings_ = clock.laps
        self.data_window_ = dict(popular.data_window_)
        return self

    def _fit_reranker(self, known, n_items, base, content, params, clock) -> tuple[Any, dict[str, float]]:
        """Sources fit before the label window, candidates for its users, LambdaRank on their labels."""
        labelled = hf.label_split(known, mode=self.rerank_split, fraction=float(self.rerank_fraction))
        if not self.rerank or not labelled.any() or labelled.all():
            return None, {}
        seed = self.random_state
        early = hf.fit_sources(known[~labelled], n_items, base, content=content, params=params, seed=seed)
        clock.lap("sources_early")
        rows, truth = hf.label_rows(
            early,
            known[labelled],
            label_types=params["label_event_types"],
            exclude_bought=not self.exclude_seen,
            max_users=int(self.rerank_max_users),
            seed=seed,
        )
        cands = hf.candidates_for_rows(early, rows, params, block_seen=self.exclude_seen)
        clock.lap("candidates")
        result = train_reranker(cands, truth, seed=seed, params={"rounds": self.rerank_rounds})
        clock.lap("reranker")
        return result

    def _install(self, parts: HybridParts) -> None:
        """Set the learned state and the query parts over it (shared by ``fit`` and ``load``;
        ``booster_`` and ``order_source_`` are set first)."""
        self.parts_ = parts
        # The learned arrays under their scikit-learn style names (inspection, save, tests).
        self.popular_, self.history_, self.attrs_ = parts.popular, parts.history, parts.attrs
        self.item_factors_, self.covisit_, self.content_ = parts.item_factors, parts.covisit, parts.content
        self.base_, self.tables_, self.user_index_ = parts.base, parts.tables, parts.user_index
        self.als_retriever_ = parts.als_retriever
        options = QueryOptions(
            per_source=int(self.per_source),
            max_recent=int(self.max_recent),
            recent_half_life=float(self.recent_half_life),
            exclude_seen=bool(self.exclude_seen),
            consumable_categories=tuple(self.consumable_categories or ()),
            event_weights=self.event_weights,
        )
        self.shoppers_ = ShopperQueries(parts, options, self.order_source_, self._scorer)
        self.pages_ = ItemPages(parts)

    @property
    def ranked_(self) -> RankedLists | None:
        """The fit's ranked candidates of known shoppers (``recsys.precomputed``), or None."""
        return self.shoppers_.ranked

    @ranked_.setter
    def ranked_(self, value: RankedLists | None) -> None:
        self.shoppers_.ranked = value

    @property
    def similar_(self) -> PrefixLists | None:
        """The fit's starts of the similar-items rankings (``recsys.precomputed``), or None."""
        return self.pages_.similar

    @similar_.setter
    def similar_(self, value: PrefixLists | None) -> None:
        self.pages_.similar = value

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
        session_event_types: Sequence[str] | None = None,
    ) -> Recommendations:
        """Personalised items for a shopper (``recsys.shopper_queries.ShopperQueries.recommend``)."""
        self._check_fitted()
        return self.shoppers_.recommend(
            user_id=user_id,
            history_item_ids=history_item_ids,
            session_item_ids=session_item_ids,
            k=k,
            filters=filters,
            exclude_item_ids=exclude_item_ids,
            max_per_category=max_per_category,
            max_per_brand=max_per_brand,
            consumable_categories=consumable_categories,
            recommend_viewed=recommend_viewed,
            session_event_types=session_event_types,
        )

    def recommend_batch(
        self,
        user_ids: Sequence[str],
        *,
        k: int = 10,
        filters: ItemFilter | None = None,
        max_per_category: int | None = None,
        max_per_brand: int | None = None,
    ) -> dict[str, Recommendations]:
        """``recommend(user_id=u, ...)`` for many users at once (same answers, batched scoring)."""
        self._check_fitted()
        return self.shoppers_.recommend_batch(
            user_ids, k=k, filters=filters, max_per_category=max_per_category, max_per_brand=max_per_brand
        )

    def stage_rankings(
        self,
        user_ids: Sequence[str],
        *,
        filters: ItemFilter | None = None,
        k: int = 10,
        sessions: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, dict[str, list[str]]]:
        """Each pipeline stage's top ``k`` per user, without fallbacks (for evaluation)."""
        self._check_fitted()
        return self.shoppers_.stage_rankings(user_ids, filters=filters, k=k, sessions=sessions)

    def similar_items(
        self, item_id: str, *, k: int = 10, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Items like this one (``recsys.item_pages.ItemPages.similar_items``)."""
        self._check_fitted()
        return self.pages_.similar_items(item_id, k=k, filters=filters)

    def bought_together(
        self, item_id: str, *, k: int = 10, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Co-purchase partners, then co-viewed items, then same-category popular."""
        self._check_fitted()
        return self.pages_.bought_together(item_id, k=k, filters=filters)

    def trending(
        self, *, k: int = 10, category: str | None = None, filters: ItemFilter | None = None
    ) -> Recommendations:
        """Time-decayed popularity, optionally under a category path prefix (the baseline's)."""
        self._check_fitted()
        return self.pages_.trending(k=k, category=category, filters=filters)

    def has_item(self, item_id: str) -> bool:
        """Whether the item is in the catalog the model knows."""
        self._check_fitted()
        return self.pages_.has_item(item_id)

    def item_title(self, item_id: str) -> str:
        """The catalog title of an item. Raises ``UnknownIdError`` for an unknown item."""
        self._check_fitted()
        return self.pages_.item_title(item_id)

    def set_stock(self, item_ids: Sequence[str] | str, in_stock: Sequence[bool] | bool) -> list[str]:
        """Update stock flags in place (the next query sees them); returns the unknown ids."""
        self._check_fitted()
        return self.pages_.set_stock(item_ids, in_stock)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``meta.json``, ``hybrid.npz``, ``reranker.txt`` (when used) and the baseline; no pickles."""
        self._check_fitted()
        path = self._write_meta(
            directory,
            extra={
                "order_source": self.order_source_,
                "report": self.report_,
                "features": list(FEATURE_NAMES),
                "n_items": len(self.popular_.item_ids_),
                "n_users": len(self.history_.user_ids),
            },
        )
        self.popular_.save(path / BASELINE_DIR)
        arrays = self.parts_.arrays()
        arrays.update(self.ranked_.arrays() if self.ranked_ is not None else {})
        arrays.update(self.similar_.arrays() if self.similar_ is not None else {})
        save_npz(path / PAYLOAD, **arrays)
        reranker = path / RERANKER
        if self.booster_ is not None:
            reranker.write_text(self.booster_.model_to_string(), encoding="utf-8")
        elif reranker.exists():
            reranker.unlink()
        return path

    @classmethod
    def load(cls, directory: str | Path) -> HybridRecommender:
        """Load a model written by ``save`` (``ArtifactError`` for another family/type/version)."""
        meta = cls._read_meta(directory)
        path = Path(directory)
        arrays = load_npz(path / PAYLOAD)
        model = cls(**{k: v for k, v in meta.get("params", {}).items() if k in cls._PARAMS})
        popular = PopularityRecommender.load(path / BASELINE_DIR)
        text = (path / RERANKER).read_text(encoding="utf-8") if (path / RERANKER).exists() else None
        model.booster_ = load_booster(text) if text else None
        extra = meta.get("extra", meta)
        model.order_source_ = str(extra.get("order_source", "als"))
        model._install(
            HybridParts.from_arrays(
                popular, arrays, regularization=float(model.regularization), alpha=float(model.alpha)
            )
        )
        model.ranked_ = RankedLists.from_arrays(arrays)
        model.similar_ = PrefixLists.from_arrays(arrays)
        model.report_ = dict(extra.get("report", {}))
        model.data_window_ = dict(meta.get("data_window", {}))
        return model

    def _check_fitted(self) -> None:
        check_is_fitted(self, ("parts_",))

    def warm_up(self) -> HybridRecommender:
        """Prepare the query path before the first request: compile the re-ranker (``trees.batch``)."""
        self._check_fitted()
        self._scorer()
        return self

    def _scorer(self) -> TreeScorer | None:
        """The re-ranker's compiled scorer, built on first use (derived, never saved)."""
        if self.booster_ is None:
            return None
        return self._derived("_tree_scorer", self.booster_, lambda b: TreeScorer(b).compile())
