"""Entity columns found from the data (fraud.entities) and kept with the saved model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fraud.entities import discover_entities
from fraud.online_state import InProcessFraudState
from fraud.velocity_model import VelocityFraudModel
from models.loader import load_model


@pytest.fixture(scope="module")
def ip_store(make_ip_tx) -> pd.DataFrame:
    return make_ip_tx()


def test_discovery_finds_id_like_columns_whatever_their_name(ip_store):
    found = discover_entities(ip_store)
    assert found.entities == ("customer_id", "ip_address", "card_number")
    for column in ("transaction_id", "timestamp", "amount", "is_fraud"):
        assert column not in found.entities and column not in found.skipped
    skipped = found.skipped
    assert "exactly as customer_id" in skipped["email"]
    assert "rarely repeat" in skipped["order_ref"]
    assert "integer not named like an identifier" in skipped["basket_size"]
    assert "not text or integer" in skipped["score_v2"]
    assert "raw category" in skipped["channel"]


def test_discovery_keeps_repeating_star_id_columns_and_drops_unique_ones(make_tx):
    tx = make_tx(600)
    tx["order_id"] = [f"o{i}" for i in range(len(tx))]  # unique per transaction
    found = discover_entities(tx)
    assert found.entities == ("customer_id", "terminal_id", "device_id")
    assert "rarely repeat" in found.skipped["order_id"]
    assert "named like the label" in found.skipped["fraud_scenario"]


def test_the_model_uses_discovered_entities_and_beats_raw_columns(ip_store, make_ip_tx):
    ours = VelocityFraudModel(n_estimators=60, random_state=0).fit(ip_store)
    assert ours.config_.entities == ("customer_id", "ip_address", "card_number")
    assert "ip_address_fraud_rate_30d" in ours.feature_names_
    assert "ip_address" not in ours.features_.spec.names  # an entity is never a raw feature
    fresh = make_ip_tx(3000, seed=1)
    fresh["timestamp"] += pd.Timedelta(days=61)
    scores = ours.predict_proba(fresh, history=ip_store)
    named = VelocityFraudModel(n_estimators=60, random_state=0, entities=["customer_id"]).fit(ip_store)
    labels = fresh["is_fraud"].to_numpy()
    from fraud.metrics import average_precision

    assert average_precision(labels, scores) > 0.8
    assert average_precision(labels, scores) > 2 * average_precision(
        labels, named.predict_proba(fresh, history=ip_store)
    )


def test_save_load_keeps_discovered_entities_and_scores(ip_store, make_ip_tx, tmp_path):
    model = VelocityFraudModel(n_estimators=40, random_state=0).fit(ip_store)
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["extra"]["entities"]["used"] == ["customer_id", "ip_address", "card_number"]
    assert "email" in meta["extra"]["entities"]["not_entities"]
    loaded = load_model(tmp_path / "m", family="fraud")
    assert loaded.config_ == model.config_
    assert loaded.entity_notes_ == model.entity_notes_
    later = make_ip_tx(400, seed=2)
    later["timestamp"] += pd.Timedelta(days=61)
    np.testing.assert_array_equal(
        loaded.predict_proba(later, history=ip_store), model.predict_proba(later, history=ip_store)
    )
    # Online, as the server scores: the same answers, and the state records the IP's history.
    records = later.drop(columns=["is_fraud"]).head(50).to_dict("records")
    states = InProcessFraudState(), InProcessFraudState()
    now = float(later["timestamp"].max().timestamp()) + 1
    ours = [model.score(r, state=states[0], now=now) for r in records]
    theirs = [loaded.score(r, state=states[1], now=now) for r in records]
    assert ours == theirs
    assert states[1].history("ip_address", str(records[0]["ip_address"])) is not None
