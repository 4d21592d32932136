"""The transaction fields each fraud model reads (what a checkout form should send)."""

from __future__ import annotations

from fraud.baseline import RawFeatureFraudModel
from fraud.velocity_model import VelocityFraudModel

REQUIRED = ["transaction_id", "timestamp", "customer_id", "amount"]


def _by_name(fields):
    return {f.name: f for f in fields}


def test_raw_model_lists_required_fields_then_its_numeric_and_categorical_extras(make_tx) -> None:
    model = RawFeatureFraudModel(n_estimators=20).fit(make_tx(1500, days=20, seed=3))
    fields = model.input_fields()
    assert [f.name for f in fields[:4]] == REQUIRED and all(f.required for f in fields[:4])
    named = _by_name(fields)
    assert named["channel"].kind == "category" and named["channel"].values == ("app", "pos", "web")
    assert named["items"].kind == "number" and not named["items"].required
    # Columns the model never reads are not asked for: ids, free text, the label's leak.
    assert not {"terminal_id", "note", "fraud_scenario", "is_fraud"} & set(named)


def test_velocity_model_adds_its_entities_and_datetime_columns(make_tx) -> None:
    model = VelocityFraudModel(n_estimators=20).fit(make_tx(1500, days=20, seed=3))
    named = _by_name(model.input_fields())
    assert [f for f in named if named[f].required] == REQUIRED
    entities = {n for n, f in named.items() if f.kind == "entity"}
    assert entities and entities <= set(model.features_.config.entities)
    assert named["card_expiry"].kind == "datetime"  # read as its age, asked for as a date
    assert "card_expiry_age_s" not in named
