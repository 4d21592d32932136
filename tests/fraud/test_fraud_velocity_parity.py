"""One feature definition: the online path replayed over a stream equals the offline matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud.checks import seconds
from fraud.online_state import InProcessFraudState
from fraud.velocity import DAY, HOUR, VelocityConfig, entity_values, offline_matrix, online_vector

CONFIG = VelocityConfig(
    entities=("customer_id", "terminal_id", "device_id"),
    windows=(HOUR, DAY, 7 * DAY),
    risk_windows=(3 * DAY, 10 * DAY),
    label_delay=2 * DAY,
    pairs=(("customer_id", "device_id"), ("customer_id", "terminal_id")),
)


def _stream(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # Whole minutes: many equal timestamps, so ties must be broken the same way on both sides.
    minutes = np.sort(rng.integers(0, 30 * 24 * 60, n))
    device = rng.integers(0, 25, n).astype(str).astype(object)
    device[rng.random(n) < 0.2] = None  # card-present payments have no device
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "timestamp": pd.Timestamp("2024-05-01") + pd.to_timedelta(minutes, unit="min"),
            "customer_id": rng.integers(0, 40, n),  # integers offline, strings online
            "terminal_id": rng.integers(0, 60, n).astype(str),
            "device_id": device,
            "amount": np.round(rng.lognormal(3.5, 1.2, n), 2),
            "is_fraud": (rng.random(n) < 0.08).astype(int),
        }
    )


def _offline(frame: pd.DataFrame) -> np.ndarray:
    times = np.array([seconds(t) for t in frame["timestamp"]])
    entities = {e: frame[e] for e in CONFIG.entities}
    return offline_matrix(times, frame["amount"].to_numpy(), frame["is_fraud"].to_numpy(), entities, CONFIG)


def _replay(frame: pd.DataFrame, state: InProcessFraudState) -> np.ndarray:
    rows = []
    for tx in frame.to_dict("records"):
        t = seconds(tx["timestamp"])
        ents = entity_values(tx, CONFIG.entities)
        rows.append(online_vector(t, tx["amount"], ents, state, CONFIG))
        state.record(tx["transaction_id"], t, tx["amount"], ents, {"score": 0.0})
        # The label is posted at once; the features must still only read it after the delay.
        state.label(tx["transaction_id"], bool(tx["is_fraud"]))
    return np.vstack(rows)


def test_online_replay_equals_offline_features() -> None:
    frame = _stream()
    offline, online = _offline(frame), _replay(frame, InProcessFraudState())
    assert offline.shape == online.shape == (len(frame), len(CONFIG.names()))
    np.testing.assert_allclose(online, offline, rtol=1e-9, atol=1e-9, equal_nan=True)
    # The comparison is not vacuous: windows, risks and first-seen flags all vary.
    names = CONFIG.names()
    for name in ("customer_id_n_1d", "terminal_id_fraud_rate_10d", "new_device_id_for_customer_id"):
        col = offline[:, names.index(name)]
        assert np.nanstd(col) > 0, name


def test_offline_does_not_depend_on_row_order() -> None:
    frame = _stream(400)
    frame["timestamp"] += pd.to_timedelta(np.arange(len(frame)), unit="ms")  # no ties: order is time
    shuffled = frame.sample(frac=1.0, random_state=0)
    got = pd.DataFrame(_offline(shuffled), index=shuffled.index).sort_index().to_numpy()
    np.testing.assert_allclose(got, _offline(frame), equal_nan=True)


def test_missing_entity_gives_nan_features() -> None:
    frame = _stream(300)
    names = CONFIG.names()
    offline = _offline(frame)
    missing = frame["device_id"].isna().to_numpy()
    cols = [
        i for i, n in enumerate(names) if n.startswith("device_id_") or n == "new_device_id_for_customer_id"
    ]
    assert np.isnan(offline[np.ix_(missing, cols)]).all()


def test_label_delay_is_honoured_online() -> None:
    config = VelocityConfig(
        entities=("customer_id",), windows=(DAY,), risk_windows=(7 * DAY,), label_delay=7 * DAY
    )
    state = InProcessFraudState()
    t0 = seconds("2024-06-01T12:00:00")
    state.record("a", t0, 50.0, {"customer_id": "c"}, {"score": 0.0})
    assert state.label("a", True)
    rate = config.names().index("customer_id_fraud_rate_7d")
    soon = online_vector(t0 + 6 * DAY, 10.0, {"customer_id": "c"}, state, config)
    later = online_vector(t0 + 7 * DAY + 1, 10.0, {"customer_id": "c"}, state, config)
    assert np.isnan(soon[rate])  # the label would not be known yet: no labelled history
    assert later[rate] == 1.0
    assert not state.label("never-scored", True)


@pytest.mark.parametrize("delay_days", [0.0, 1.0])
def test_zero_delay_only_reads_earlier_rows(delay_days: float) -> None:
    config = VelocityConfig(
        entities=("c",), windows=(DAY,), risk_windows=(DAY,), label_delay=delay_days * DAY
    )
    times = np.array([0.0, 0.0, 10.0])
    out = offline_matrix(times, np.ones(3), np.array([1, 1, 0]), {"c": np.array(["x", "x", "x"])}, config)
    rate = config.names().index("c_fraud_rate_1d")
    n = config.names().index("c_n_1d")
    assert list(out[:, n]) == [0.0, 1.0, 2.0]
    if delay_days == 0:
        assert np.isnan(out[0, rate]) and out[1, rate] == 1.0 and out[2, rate] == 1.0
    else:
        assert np.isnan(out[:, rate]).all()
