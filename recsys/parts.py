"""What a fitted ``HybridRecommender`` answers from: one typed record shared by its query parts.

``recsys.shopper_queries.ShopperQueries`` (recommendations for shoppers) and
``recsys.item_pages.ItemPages`` (similar items, bought together, trending and catalog state) both
read a ``HybridParts``; the model builds it once in ``fit`` or ``load`` and never changes it in a
query, except the stock flags its embedded baseline holds (``set_stock``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recsys.candidates import ItemAttributes
from recsys.candidates_request import AlsRetriever
from recsys.interactions import CoPurchases
from recsys.popularity import PopularityRecommender
from recsys.profiles import History
from recsys.sources import SourceTables, als_from_factors, table_matrix

_ATTRS = ("popularity", "days_since_last_event", "days_listed", "log_price", "brand")
_TABLES = ("covisit", "content")


@dataclass(frozen=True)
class HybridParts:
    """The learned state of a hybrid recommender, indexed by catalog position.

    Attributes:
        popular: the embedded popularity baseline: catalog, stock flags, trending, filters.
        history: the stored profile of every known shopper.
        attrs: per-item values the re-ranker's features read.
        item_factors: ALS item factors (zero rows for items without events).
        covisit, content: item-to-item neighbour tables (co-visitation, text embeddings).
        base: per-item codes (leaf and top category, brand, log price, listing time).
        tables: the sources' query-time view of all of the above.
        als_retriever: exact top ALS items for a folded-in profile.
        user_index: shopper id -> row of ``history``.
    """

    popular: PopularityRecommender
    history: History
    attrs: ItemAttributes
    item_factors: np.ndarray
    covisit: CoPurchases
    content: CoPurchases
    base: dict[str, np.ndarray]
    tables: SourceTables
    als_retriever: AlsRetriever
    user_index: dict[str, int] = field(repr=False)

    @classmethod
    def build(
        cls,
        popular: PopularityRecommender,
        history: History,
        factors: np.ndarray,
        covisit: CoPurchases,
        content: CoPurchases,
        attrs: ItemAttributes,
        base: dict[str, np.ndarray],
        *,
        regularization: float,
        alpha: float,
    ) -> HybridParts:
        """The parts with their derived query structures (shared by ``fit`` and ``load``)."""
        n_items = len(popular.item_ids_)
        als = None
        if factors.shape[1] and len(history.user_ids):
            als = als_from_factors(factors, regularization=regularization, alpha=alpha)
        tables = SourceTables(
            als,
            table_matrix(covisit, n_items),
            table_matrix(popular.pairs_, n_items),
            table_matrix(content, n_items),
            attrs.popularity,
            base["leaf"],
            base["top"],
        )
        user_index = {u: i for i, u in enumerate(history.user_ids.tolist())}
        return cls(
            popular, history, attrs, factors, covisit, content, base, tables, AlsRetriever(als), user_index
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The learned arrays the artifact keeps (the baseline is saved beside them; the source
        tables and the ALS retriever are rebuilt from these by ``from_arrays``)."""
        out = {**self.history.arrays(), "item_factors": self.item_factors}
        for name, table in zip(_TABLES, (self.covisit, self.content), strict=True):
            out.update(
                {
                    f"{name}_indptr": table.indptr,
                    f"{name}_indices": table.indices,
                    f"{name}_scores": table.scores,
                }
            )
        out.update({f"attr_{n}": getattr(self.attrs, n) for n in _ATTRS})
        out.update({f"base_{n}": v for n, v in self.base.items()})
        return out

    @classmethod
    def from_arrays(
        cls,
        popular: PopularityRecommender,
        arrays: dict[str, np.ndarray],
        *,
        regularization: float,
        alpha: float,
    ) -> HybridParts:
        """The parts ``arrays()`` wrote, with ``popular`` loaded beside them."""
        covisit, content = (
            CoPurchases(arrays[f"{n}_indptr"], arrays[f"{n}_indices"], arrays[f"{n}_scores"]) for n in _TABLES
        )
        return cls.build(
            popular,
            History.from_arrays(arrays),
            arrays["item_factors"],
            covisit,
            content,
            ItemAttributes(*(arrays[f"attr_{n}"] for n in _ATTRS)),
            {n[5:]: v for n, v in arrays.items() if n.startswith("base_")},
            regularization=regularization,
            alpha=alpha,
        )
