"""Lifecycle contract of PopularityRecommender: errors, validation, save -> load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.artifact import write_meta
from models.errors import ArtifactError, DataValidationError, InvalidInputError, NotFittedError
from recsys.popularity import PopularityRecommender
from recsys.types import ItemFilter


def test_get_params_returns_init_arguments_unchanged():
    model = PopularityRecommender(half_life_days=7, event_weights={"view": 2}, random_state=3)
    assert model.get_params() == {
        "half_life_days": 7,
        "event_weights": {"view": 2},
        "min_support": 2,
        "random_state": 3,
    }
    assert PopularityRecommender().get_params()["event_weights"] is None


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.recommend(),
        lambda m: m.trending(),
        lambda m: m.similar_items("pan"),
        lambda m: m.bought_together("pan"),
        lambda m: m.has_item("pan"),
        lambda m: m.set_stock(["pan"], [True]),
        lambda m: m.save("/nonexistent/never-written"),
    ],
)
def test_unfitted_model_raises_not_fitted(call):
    with pytest.raises(NotFittedError, match="PopularityRecommender.*fit"):
        call(PopularityRecommender())


@pytest.mark.parametrize(
    ("frame", "column"),
    [("events", "event_type"), ("events", "timestamp"), ("catalog", "category"), ("catalog", "in_stock")],
)
def test_fit_names_the_missing_column(events, catalog, frame, column):
    frames = {"events": events, "catalog": catalog}
    frames[frame] = frames[frame].drop(columns=[column])
    with pytest.raises(DataValidationError, match=column) as err:
        PopularityRecommender().fit(**frames)
    assert err.value.column == column


def test_fit_rejects_empty_and_non_timestamp_events(events, catalog):
    with pytest.raises(DataValidationError, match="empty"):
        PopularityRecommender().fit(events.iloc[:0], catalog)
    with pytest.raises(DataValidationError, match="timestamp"):
        PopularityRecommender().fit(events.assign(timestamp="not a date"), catalog)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"half_life_days": 0}, "half_life_days"),
        ({"half_life_days": "week"}, "half_life_days"),
        ({"event_weights": {"view": -1}}, "event_weights"),
        ({"min_support": 0}, "min_support"),
    ],
)
def test_fit_validates_hyper_parameters(events, catalog, params, field):
    with pytest.raises(InvalidInputError) as err:
        PopularityRecommender(**params).fit(events, catalog)
    assert err.value.field == field


def test_event_weights_and_order_ids_are_optional(events, catalog):
    views_only = PopularityRecommender(event_weights={"view": 1.0}).fit(
        events.drop(columns="order_id"), catalog
    )
    assert views_only.trending(k=1, filters=ItemFilter(in_stock_only=False)).item_ids == ["wok"]
    assert views_only.pairs_.n_pairs == 0
    assert views_only.bought_together("pan").items[0].reason == "Popular in Kitchen > Cookware"


def test_timezone_aware_timestamps_are_read_as_utc(events, catalog):
    aware = events.assign(timestamp=events["timestamp"].dt.tz_localize("Europe/Berlin"))
    model = PopularityRecommender().fit(aware, catalog)
    assert model.data_window_["end"] == "2024-03-31T10:00:00"
    assert model.trending(k=3).item_ids == ["novel", "pan", "spatula"]


def _outputs(model):
    flt = ItemFilter(category="Kitchen", price_max=40)
    return [
        model.recommend(k=5),
        model.recommend(session_item_ids=["pot", "atlas"], history_item_ids=["novel"], k=6),
        model.trending(k=20, filters=ItemFilter(in_stock_only=False)),
        model.trending(k=3, category="Books"),
        model.similar_items("pot", k=4, filters=flt),
        model.bought_together("pan"),
        model.bought_together("giftcard"),
    ]


def test_save_then_load_gives_identical_outputs(model, tmp_path):
    model.set_stock(["pot"], [False])  # the saved stock state is the current one
    path = model.save(tmp_path / "model")
    meta = json.loads((path / "meta.json").read_text())
    assert (meta["family"], meta["model_type"], meta["format_version"]) == ("recsys", "popularity", 1)
    loaded = PopularityRecommender.load(path)
    assert _outputs(loaded) == _outputs(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.data_window_ == model.data_window_
    for name in ("item_ids_", "titles_", "categories_", "prices_", "in_stock_", "scores_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    assert loaded.item_ids_.dtype.kind == "U"
    loaded.set_stock(["pot"], [True])  # loaded arrays stay writable
    assert "pot" in loaded.trending(k=20).item_ids


def test_load_refuses_another_family(tmp_path):
    write_meta(tmp_path, family="search", model_type="bm25", format_version=1, params={})
    with pytest.raises(ArtifactError, match="family"):
        PopularityRecommender.load(tmp_path)


def test_load_refuses_another_version_and_a_missing_payload(model, tmp_path):
    write_meta(tmp_path / "v2", family="recsys", model_type="popularity", format_version=2, params={})
    with pytest.raises(ArtifactError, match="format_version"):
        PopularityRecommender.load(tmp_path / "v2")
    path = model.save(tmp_path / "ok")
    (path / "arrays.npz").unlink()
    with pytest.raises(ArtifactError, match="arrays.npz"):
        PopularityRecommender.load(path)


def test_duplicate_catalog_rows_keep_the_last(events, catalog):
    dup = pd.concat([catalog, catalog.iloc[[0]].assign(title="Pan v2")], ignore_index=True)
    model = PopularityRecommender().fit(events, dup)
    assert len(model.item_ids_) == len(catalog) and model.item_title("pan") == "Pan v2"
