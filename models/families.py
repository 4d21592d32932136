"""The four model families, declared once: every module that lists families reads this table.

A family is its name, the training job that builds it, the store files that job needs (and those
it reads when present), the model types an artifact of it may hold (``meta.json``'s
``model_type`` -> the class that loads it, imported lazily so ``models`` does not pull in every
domain package) and the cheap query a server asks a freshly loaded model before it serves.

What serving may ask a loaded model is the family's interface (``recsys.interface.Recommender``,
``search.interface.Searcher``, ``fraud.interface.FraudScorer``,
``forecasting.interface.Forecaster``); the block at the end has mypy check that every registered
class satisfies it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any


@dataclass(frozen=True)
class Family:
    """One model family.

    Attributes:
        name: ``recsys``, ``search``, ``fraud`` or ``forecasting``.
        job: module of the training job (``train(store, seed=...)``).
        needs: store files the job cannot train without.
        needs_columns: columns of those files it cannot train without (optional in the data
            contract), each with what it is.
        uses: store files the job reads when they are there.
        model_types: ``model_type`` -> ``"module:Class"`` that saves and loads it.
        smoke: one cheap question for a freshly loaded model; None when loading is the check
            (a fraud or forecasting query needs a transaction or a known item).
    """

    name: str
    job: str
    needs: tuple[str, ...]
    model_types: Mapping[str, str]
    uses: tuple[str, ...] = ()
    needs_columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    smoke: Callable[[Any], object] | None = field(default=None, compare=False)


TABLE: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "recsys",
            job="training.jobs.recsys",
            needs=("events", "catalog"),
            model_types={
                "popularity": "recsys.popularity:PopularityRecommender",
                "hybrid": "recsys.hybrid:HybridRecommender",
            },
            smoke=lambda model: model.trending(k=1),
        ),
        Family(
            "search",
            job="training.jobs.search",
            needs=("catalog",),
            uses=("search_judgments",),
            model_types={"bm25": "search.bm25:BM25Search", "hybrid": "search.hybrid:HybridSearch"},
            smoke=lambda model: model.search("smoke test", k=1),
        ),
        Family(
            "fraud",
            job="training.jobs.fraud",
            needs=("transactions",),
            needs_columns={"transactions": {"is_fraud": "the label column"}},
            model_types={
                "lgbm_raw": "fraud.baseline:RawFeatureFraudModel",
                "lgbm_velocity": "fraud.velocity_model:VelocityFraudModel",
            },
        ),
        Family(
            "forecasting",
            job="training.jobs.forecasting",
            needs=("sales",),
            model_types={
                "seasonal_naive": "forecasting.naive:SeasonalNaiveForecaster",
                "lgbm_global": "forecasting.global_model:GlobalForecaster",
            },
        ),
    )
}
FAMILIES: tuple[str, ...] = tuple(TABLE)


if TYPE_CHECKING:  # mypy: every class the table registers satisfies its family's interface
    from forecasting.global_model import GlobalForecaster
    from forecasting.interface import Forecaster
    from forecasting.naive import SeasonalNaiveForecaster
    from fraud.baseline import RawFeatureFraudModel
    from fraud.interface import FraudScorer
    from fraud.velocity_model import VelocityFraudModel
    from recsys.hybrid import HybridRecommender
    from recsys.interface import Recommender
    from recsys.popularity import PopularityRecommender
    from search.bm25 import BM25Search
    from search.hybrid import HybridSearch
    from search.interface import LiveCatalog, Searcher

    _recommenders: tuple[type[Recommender], ...] = (PopularityRecommender, HybridRecommender)
    _searchers: tuple[type[Searcher], ...] = (BM25Search, HybridSearch)
    _live_catalogs: tuple[type[LiveCatalog], ...] = (HybridSearch,)
    _fraud_scorers: tuple[type[FraudScorer], ...] = (RawFeatureFraudModel, VelocityFraudModel)
    _forecasters: tuple[type[Forecaster], ...] = (SeasonalNaiveForecaster, GlobalForecaster)
