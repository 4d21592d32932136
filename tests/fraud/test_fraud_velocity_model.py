"""VelocityFraudModel: online scoring equals offline, idempotency, rules, calibration, persistence."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from fraud.calibration import apply_calibration, fit_calibration
from fraud.checks import seconds
from fraud.online_state import InProcessFraudState
from fraud.rules import RuleSet
from fraud.velocity_model import VelocityFraudModel
from models.errors import ConflictError, InvalidInputError, NotFittedError
from models.loader import load_model

FAR_FUTURE = seconds("2100-01-01T00:00:00")


@pytest.fixture(scope="module")
def model(make_tx) -> VelocityFraudModel:
    return VelocityFraudModel(n_estimators=60, min_child_samples=20).fit(make_tx(4000, days=40, seed=2))


def _replay(model, frame, state, rules=None):
    out = []
    for tx in frame.to_dict("records"):
        label = tx.pop("is_fraud")
        out.append(model.score(tx, state=state, rules=rules, now=FAR_FUTURE))
        state.label(tx["transaction_id"], bool(label))
    return out


def test_online_scores_equal_offline_scores(model, make_tx) -> None:
    fresh = make_tx(600, days=10, seed=5)
    online = _replay(model, fresh, InProcessFraudState())
    offline = model.predict_proba(fresh)
    np.testing.assert_allclose([r.score for r in online], offline, rtol=1e-9, atol=1e-12)
    assert all(0.0 <= r.score <= 1.0 for r in online)
    assert {r.decision for r in online} <= {"approve", "review", "decline"}


def test_rescoring_is_idempotent(model, make_tx) -> None:
    state = InProcessFraudState()
    tx = make_tx(5, seed=6).drop(columns=["is_fraud"]).to_dict("records")
    first = [model.score(t, state=state, now=FAR_FUTURE) for t in tx]
    history = state.history("customer_id", str(tx[0]["customer_id"]))
    n_before = history.n_all
    again = model.score(tx[0], state=state, now=FAR_FUTURE)
    assert again.replayed and not first[0].replayed
    assert (again.score, again.decision, again.reasons, again.rule) == (
        first[0].score,
        first[0].decision,
        first[0].reasons,
        first[0].rule,
    )
    with pytest.raises(ConflictError, match="amount differ") as clash:
        model.score(tx[0] | {"amount": 99999.0}, state=state, now=FAR_FUTURE)
    assert clash.value.differing == ["amount"] and clash.value.field == "transaction_id"
    after = state.history("customer_id", str(tx[0]["customer_id"]))
    assert len(state) == 5 and after.n_all == n_before and after.times == history.times


def test_block_list_beats_the_model_and_allow_list_approves(model, make_tx) -> None:
    rows = make_tx(3000, seed=7).drop(columns=["is_fraud"]).to_dict("records")
    scored = [(model.score(r), r) for r in rows]
    safe = min(scored, key=lambda s: s[0].score)[1]
    risky = max(scored, key=lambda s: s[0].score)[1]
    assert model.score(risky).decision == "decline"
    rules = RuleSet.from_json(
        {
            "block": {"customer_id": [str(safe["customer_id"])]},
            "allow": {"device_id": [str(risky["device_id"])]},
            "rules": [{"name": "huge", "field": "amount", "op": ">=", "value": 1e6, "decision": "review"}],
        }
    )
    state = InProcessFraudState()
    blocked = model.score(safe | {"device_id": risky["device_id"]}, state=state, rules=rules, now=FAR_FUTURE)
    assert (blocked.decision, blocked.rule) == ("decline", "block:customer_id")
    allowed = model.score(risky | {"transaction_id": "r2"}, state=state, rules=rules, now=FAR_FUTURE)
    assert (allowed.decision, allowed.rule) == ("approve", "allow:device_id")
    big = model.score(safe | {"transaction_id": "r3", "customer_id": "x", "amount": 2e6}, rules=rules)
    assert (big.decision, big.rule) == ("review", "rule:huge")
    assert model.score(safe).rule is None
    assert RuleSet.from_json(rules.to_json()).to_json() == rules.to_json()
    with pytest.raises(InvalidInputError):
        RuleSet.from_json(
            {"rules": [{"name": "x", "field": "amount", "op": "~", "value": 1, "decision": "review"}]}
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": -1.0}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": "12"}, "amount"),
        ({"currency": "XXY"}, "currency"),
        ({"timestamp": "2099-01-01T00:00:00"}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_bad_input_is_rejected_and_leaves_the_state_untouched(model, make_tx, change, field) -> None:
    state = InProcessFraudState()
    tx = make_tx(1, seed=8).drop(columns=["is_fraud"]).to_dict("records")[0]
    with pytest.raises(InvalidInputError) as err:
        model.score(tx | change, state=state)
    assert err.value.field == field
    assert len(state) == 0 and state.history("customer_id", str(tx["customer_id"])) is None
    ok = model.score(tx | {"currency": "eur"}, state=state, now=FAR_FUTURE)
    assert 0.0 <= ok.score <= 1.0 and len(state) == 1


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_is_monotone_and_bounded(method) -> None:
    rng = np.random.default_rng(0)
    raw = rng.random(4000)
    labels = (rng.random(4000) < raw**3).astype(int)
    cal = fit_calibration(raw, labels, method=method)
    grid = np.linspace(0, 1, 1001)
    probs = apply_calibration(json.loads(json.dumps(cal)), grid)
    assert np.all(np.diff(probs) >= 0) and probs.min() >= 0 and probs.max() <= 1
    # Calibrated: the mean probability matches the fraud rate within noise.
    assert abs(apply_calibration(cal, raw).mean() - labels.mean()) < 0.02


def test_save_load_round_trip_is_pickle_free(model, make_tx, tmp_path) -> None:
    path = model.save(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.txt"]
    loaded = load_model(path, family="fraud")
    assert isinstance(loaded, VelocityFraudModel) and loaded.get_params() == model.get_params()
    fresh = make_tx(300, seed=9)
    np.testing.assert_allclose(loaded.predict_proba(fresh), model.predict_proba(fresh))
    tx = fresh.drop(columns=["is_fraud"]).to_dict("records")[0]
    assert loaded.score(tx) == model.score(tx)


def test_unfitted_and_reasons(model, make_tx) -> None:
    with pytest.raises(NotFittedError):
        VelocityFraudModel().score({"amount": 1.0, "timestamp": "2024-01-01T00:00:00"})
    state = InProcessFraudState()
    burst = make_tx(1, seed=10).drop(columns=["is_fraud"]).to_dict("records")[0]
    results = [
        model.score(
            burst | {"transaction_id": f"b{i}", "amount": 900.0, "channel": "web"},
            state=state,
            now=FAR_FUTURE,
        )
        for i in range(8)
    ]
    assert results[-1].reasons and all(isinstance(r, str) and r for r in results[-1].reasons)


def test_state_survives_a_restart(model, make_tx, tmp_path) -> None:
    fresh = make_tx(200, days=5, seed=11)
    state = InProcessFraudState(tmp_path / "state")
    before = _replay(model, fresh.iloc[:150], state)
    state.close()
    reopened = InProcessFraudState(tmp_path / "state")
    assert len(reopened) == 150
    tx = fresh.iloc[0].drop("is_fraud").to_dict()
    replayed = model.score(tx, state=reopened, now=FAR_FUTURE)
    assert replayed.replayed and dataclasses.replace(replayed, replayed=False) == before[0]
    tail_new = _replay(model, fresh.iloc[150:], reopened)
    tail_mem = _replay(model, fresh.iloc[150:], _replayed(model, fresh.iloc[:150]))
    assert tail_new == tail_mem


def _replayed(model, frame):
    state = InProcessFraudState()
    _replay(model, frame, state)
    return state


def test_reasons_read_like_sentences() -> None:
    from fraud.reasons import describe
    from fraud.velocity import DAY, HOUR, VelocityConfig

    config = VelocityConfig(
        entities=("card_id",), windows=(HOUR, 30 * DAY), pairs=(("card_id", "device_id"),)
    )
    row = {"card_id_n_30d": 216.0}
    assert (
        describe("card_id_n_1h", 7.0, row, config)
        == "7 transactions on this card in the last hour, usual is 0.3"
    )
    assert (
        describe("card_id_amount_vs_mean_all", 8.14, row, config)
        == "amount is 8.1x this card's average over all history"
    )
    assert describe("new_device_id_for_card_id", 1.0, row, config) == "new device for this card"
    assert describe("amount", 5.0, row, config) is None
