"""The search job's settings search: trials, defaults first, seeded choice, variants, budget 0."""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.errors import InvalidInputError
from search import space
from search.hybrid import HybridSearch
from search.metrics import judgments_by_query
from search.variants import MemoEncoder, variant
from training.jobs import search as job
from training.jobs.search_settings import SettingsSearch
from training.store import StoreData
from training.tuning import params_of, trials_on

BRANDS = ["Acme", "Bolt", "Crest", "Dura", "Evo"]
COLORS = ["red", "blue", "black", "white", "green"]
MATERIALS = ["steel", "oak", "brass", "vinyl"]
NOUNS = {"hammer": "Tools", "drill": "Tools", "faucet": "Plumbing", "shelf": "Storage", "lamp": "Lighting"}
QUERIES = ["pan", "shampoo bottle", "steel set", "hose", "zzz", "red oak shelf", "dura drill"]
FIELDS = ("title", "brand", "category", "description")


def _catalog() -> pd.DataFrame:
    """Items described by brand x colour x material x noun; the category is the noun's department.

    Some titles are padded and some descriptions name other items' attributes, so how much each
    field and the title length count changes the ranking.
    """
    rows = []
    combos = list(itertools.product(BRANDS, COLORS, MATERIALS, NOUNS))
    for i, (brand, color, material, noun) in enumerate(combos):
        if i % 2:  # half of them: 250 items
            continue
        pad = " heavy duty professional grade series" if i % 4 == 0 else ""
        other = combos[(i * 7 + 3) % len(combos)]
        description = f"Goes with {other[1]} {other[2]} {other[3]} sets" if i % 3 == 0 else ""
        title = f"{color.title()} {material} {noun} {i % 7 + 1}0 cm{pad}"
        rows.append((f"i{i}", title, description, f"Home > {NOUNS[noun]}", brand))
    frame = pd.DataFrame(rows, columns=["item_id", "title", "description", "category", "brand"])
    return frame.assign(price=10.0, in_stock=True, created_at=pd.Timestamp("2024-01-01"))


def _judgments(catalog: pd.DataFrame) -> pd.DataFrame:
    """Queries naming two or three attributes; an item's relevance is how many of them it has."""
    attrs = {row.item_id: {row.brand.lower(), *row.title.lower().split()[:3]} for row in catalog.itertuples()}
    words = [*(b.lower() for b in BRANDS), *COLORS, *MATERIALS, *NOUNS]
    queries = [*itertools.combinations(words, 2), *itertools.product(COLORS, MATERIALS, NOUNS)]
    rows = []
    for q, combo in enumerate(queries):  # 171 pairs + 100 triples
        want = set(combo)
        for item, has in attrs.items():
            hits = len(want & has)
            if hits >= 2 or (hits == 1 and (q + int(item[1:])) % 9 == 0):
                rows.append((" ".join(combo), item, float(hits)))
    return pd.DataFrame(rows, columns=["query", "item_id", "relevance"])


@pytest.fixture(scope="module")
def store() -> StoreData:
    catalog = _catalog()
    return StoreData(catalog=catalog, search_judgments=_judgments(catalog))


@pytest.fixture(scope="module")
def searched(store: StoreData):
    return job.train(store, seed=0, budget_s=600, max_trials=3)


@pytest.fixture(scope="module")
def fitted(store: StoreData) -> HybridSearch:
    assert store.catalog is not None
    return HybridSearch().fit(store.catalog)


def test_the_store_has_enough_judged_queries_for_every_search(store: StoreData) -> None:
    assert space.searched_fields(store.catalog) == FIELDS  # attributes are empty: not searched
    assert store.search_judgments is not None and store.search_judgments["query"].nunique() >= 200


def test_a_budget_runs_trials_with_the_defaults_first(searched) -> None:
    report = searched.tuning
    assert report is not None and len(report.trials) == 3
    defaults = space.trial_values(HybridSearch().get_params(), fields=FIELDS)
    assert report.trials[0]["number"] == 0 and report.trials[0]["params"] == defaults
    assert report.best_value >= report.default_value
    for name in ("fold1", "fold2", "final"):
        assert " trials " in searched.params[f"settings_search_{name}"], name
    assert searched.params["settings_search"].startswith("on ")  # the runner adds the summary
    # The returned model carries the chosen settings and is scored on every judged query.
    chosen = params_of(lambda t: space.suggest(t, fields=FIELDS), report.best_params)
    model = searched.model
    assert (model.k1, model.b, model.field_weights, model.rerank) == (
        chosen["k1"],
        chosen["b"],
        chosen["field_weights"],
        chosen["rerank"],
    )
    assert searched.evaluation.n_cases == searched.params["n_evaluated_queries"] >= 200
    assert searched.metrics["ndcg_at_10"] > searched.metrics["baseline_random_match_ndcg_at_10"]


def test_the_same_seed_chooses_the_same_settings(store: StoreData, fitted: HybridSearch) -> None:
    judgments = judgments_by_query(store.search_judgments)
    reports = []
    for _ in range(2):
        search = SettingsSearch(fitted, FIELDS, seed=3, max_trials=4)
        chosen = search.choose(judgments, 600, name="x")
        reports.append((search.reports["x"], chosen.get_params()))
    (first, first_params), (again, again_params) = reports
    assert len(first.trials) == 4 and len({t["value"] for t in first.trials}) > 1
    assert first.best_params != first.trials[0]["params"]  # here a searched setting beat the defaults
    assert first.best_params == again.best_params and first_params == again_params
    assert [t["value"] for t in first.trials] == [t["value"] for t in again.trials]


def test_no_budget_left_keeps_the_defaults(store: StoreData, fitted: HybridSearch) -> None:
    search = SettingsSearch(fitted, FIELDS, seed=0, max_trials=4)
    assert search.choose(judgments_by_query(store.search_judgments), 0.0, name="final") is fitted
    assert search.notes["final"].startswith("skipped: no budget left") and not search.reports


def test_too_few_judged_queries_keep_the_defaults(catalog: pd.DataFrame) -> None:
    judged = pd.DataFrame(
        [("pan", "p1", 3.0), ("hose", "g1", 3.0)], columns=["query", "item_id", "relevance"]
    )
    result = job.train(StoreData(catalog=catalog, search_judgments=judged), seed=0, budget_s=600)
    assert result.tuning is None and result.params["settings_search"].startswith("skipped")
    assert result.model.get_params() == HybridSearch(random_state=0).get_params()


def test_budget_zero_is_the_job_without_a_search(store: StoreData) -> None:
    zero = job.train(store, seed=0, budget_s=0)
    assert zero.tuning is None and zero.params["settings_search"].startswith("off")
    assert zero.model.get_params() == HybridSearch(random_state=0).get_params()
    # Cross-fitted with the defaults: each half scored by the default model tuned on the other half ...
    assert store.catalog is not None
    judgments = judgments_by_query(store.search_judgments)
    first, second = job._split(judgments)
    served = {}
    for tune, held in ((first, second), (second, first)):
        fold = HybridSearch(random_state=0).fit(store.catalog, tune)
        served.update({q: [h.item_id for h in fold.search(q, k=10).hits] for q in held})
    expected = job.per_query(served, served, judgments)
    assert zero.evaluation.case_ids.tolist() == expected.case_ids.tolist()
    assert zero.evaluation.rows["model"].tolist() == expected.rows["model"].tolist()
    # ... and the returned model is the default model tuned on every judgment.
    reference = HybridSearch(random_state=0).fit(store.catalog, judgments)
    for query in QUERIES:
        assert zero.model.search(query, k=5) == reference.search(query, k=5)


SETTINGS = {
    "k1": 0.7,
    "b": 0.3,
    "field_weights": {"title": 3, "brand": 0, "category": 2, "description": 1, "attributes": 0},
    "rerank": False,
}


def test_a_variant_equals_a_model_fitted_with_its_settings(store: StoreData, fitted: HybridSearch) -> None:
    assert store.catalog is not None
    judgments = judgments_by_query(store.search_judgments)
    cheap = variant(fitted, **SETTINGS).tune(judgments)
    fresh = HybridSearch(**SETTINGS).fit(store.catalog, judgments)
    assert cheap.get_params() == fresh.get_params()
    assert cheap.state_.keyword is not fitted.state_.keyword  # BM25 was rebuilt ...
    assert cheap.state_.vectors is fitted.state_.vectors  # ... the vector side is shared
    for query in QUERIES:
        assert cheap.search(query, k=5) == fresh.search(query, k=5)
    # the defaults' variant shares the BM25 index too, and leaves the fitted model as it was
    assert variant(fitted).state_.keyword is fitted.state_.keyword
    assert fitted.k1 == 1.5 and fitted.field_weights is None


def test_save_load_of_non_default_settings_gives_identical_results(
    store: StoreData, fitted: HybridSearch, tmp_path: Path
) -> None:
    model = variant(fitted, **SETTINGS).tune(judgments_by_query(store.search_judgments))
    loaded = HybridSearch.load(model.save(tmp_path / "model"))
    assert loaded.get_params() == model.get_params()
    assert (loaded.state_.keyword.k1, loaded.state_.keyword.b) == (0.7, 0.3)
    for query in QUERIES:
        assert loaded.search(query, k=5) == model.search(query, k=5)


def test_a_variant_cannot_change_the_vector_side_or_take_unknown_settings(fitted: HybridSearch) -> None:
    with pytest.raises(InvalidInputError, match="hnsw_min_items"):
        variant(fitted, hnsw_min_items=10)
    with pytest.raises(InvalidInputError, match="k_one"):
        variant(fitted, k_one=1.0)
    with pytest.raises(InvalidInputError, match="field weight"):
        variant(fitted, field_weights={"title": 1.5})


def test_the_memo_encoder_returns_the_encoders_vectors(fitted: HybridSearch) -> None:
    assert fitted.encoder_ is not None
    memo = MemoEncoder(fitted.encoder_)
    first = memo.encode_one("red oak shelf")
    assert memo.encode_one("red oak shelf") is first
    np.testing.assert_array_equal(first, fitted.encoder_.encode_one("red oak shelf"))


def test_the_space_replays_the_defaults() -> None:
    defaults = HybridSearch().get_params()
    values = space.trial_values(defaults, fields=FIELDS)
    assert values == {
        "k1": 1.5,
        "b": 0.75,
        "title_weight": 2,
        "brand_weight": 1,
        "category_weight": 1,
        "description_weight": 1,
        "rerank": True,
    }
    replayed = params_of(lambda t: space.suggest(t, fields=FIELDS), values)
    assert replayed["field_weights"] == {
        "title": 2,
        "brand": 1,
        "category": 1,
        "description": 1,
        "attributes": 1,
    }
    assert (replayed["k1"], replayed["b"], replayed["rerank"]) == (1.5, 0.75, True)


class ShippingTrials:
    """Runs each batch as another process would: the objective crosses a pickle, once per search."""

    def __init__(self) -> None:
        self.shipped: dict[int, object] = {}

    def run(self, objective, batch, trials=()):
        del trials
        if id(objective) not in self.shipped:
            self.shipped = {id(objective): pickle.loads(pickle.dumps(objective))}
        remote = self.shipped[id(objective)]
        return [(float(remote(params)), 0.0) for params in batch]


def test_trials_shipped_to_other_workers_score_what_they_score_in_process(
    store: StoreData, fitted: HybridSearch
) -> None:
    judgments = judgments_by_query(store.search_judgments)
    local = SettingsSearch(fitted, FIELDS, seed=3, max_trials=4)
    local.choose(judgments, 600, name="x")
    away = SettingsSearch(fitted, FIELDS, seed=3, max_trials=4)
    with trials_on(ShippingTrials()):
        away.choose(judgments, 600, name="x")
    values = [[t["value"] for t in s.reports["x"].trials] for s in (local, away)]
    assert values[0] == pytest.approx(values[1], abs=1e-9)
    assert local.reports["x"].best_params == away.reports["x"].best_params
    # In process the live model is used and never packed; a shipped search packs it once.
    assert local._pack is None and away._pack is not None
