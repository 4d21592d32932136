"""InProcessFraudState: journal replay, compaction and bounded memory keep features unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from fraud import online_state
from fraud.online_state import JOURNAL, InProcessFraudState

DAY = 86400.0


def _ops(n: int = 3000, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    ops = []
    for i in range(n):
        ents = {
            "customer_id": f"c{rng.integers(30)}",
            "device_id": None if i % 7 == 0 else f"d{rng.integers(20)}",
        }
        ops.append(("tx", f"t{i}", i * 0.02 * DAY, float(rng.integers(1, 500)), ents))
        if rng.random() < 0.1:
            ops.append(("label", f"t{i}", bool(rng.random() < 0.7)))
    return ops


def _apply(state: InProcessFraudState, ops: list[tuple]) -> None:
    for op in ops:
        if op[0] == "tx":
            state.record(op[1], op[2], op[3], op[4], {"score": op[3] / 1000, "decision": "approve"})
        else:
            state.label(op[1], op[2])


def _snapshot(state: InProcessFraudState) -> dict:
    keys = [("customer_id", f"c{i}") for i in range(30)] + [("device_id", f"d{i}") for i in range(20)]
    out = {}
    for key in keys:
        hist = state.history(*key)
        out[key] = (
            None
            if hist is None
            else (
                hist.times,
                hist.amounts,
                hist.frauds,
                hist.ids,
                hist.n_all,
                round(hist.sum_all, 6),
                hist.last_time,
                {k: sorted(v) for k, v in hist.partners.items()},
            )
        )
    return out


def test_restart_with_compaction_loses_nothing(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(online_state, "COMPACT_MIN_LINES", 10)
    ops = _ops()
    memory = InProcessFraudState(retention_s=20 * DAY)
    _apply(memory, ops[:2500])
    disk = InProcessFraudState(tmp_path, retention_s=20 * DAY)
    _apply(disk, ops[:2500])
    disk.close()
    lines_before = (tmp_path / JOURNAL).read_text().count("\n")
    reopened = InProcessFraudState(tmp_path, retention_s=20 * DAY)  # compacts: most answers expired
    assert (tmp_path / JOURNAL).read_text().count("\n") < lines_before / 2
    assert _snapshot(reopened) == _snapshot(memory)
    assert len(reopened) == len(memory) < 2500
    assert reopened.recall("t2499") == memory.recall("t2499") and reopened.recall("t0") is None
    # Writes after the compaction append to the snapshot, and a second restart replays both.
    _apply(reopened, ops[2500:])
    _apply(memory, ops[2500:])
    reopened.close()
    again = InProcessFraudState(tmp_path, retention_s=20 * DAY)
    assert _snapshot(again) == _snapshot(memory)
    assert again.label("t2999", True) == memory.label("t2999", True)


def test_torn_last_line_is_skipped(tmp_path) -> None:
    state = InProcessFraudState(tmp_path)
    state.record("a", 0.0, 5.0, {"customer_id": "c"}, {"score": 0.1})
    state.close()
    with open(tmp_path / JOURNAL, "a", encoding="utf-8") as fh:
        fh.write('{"op": "tx", "id": "b", "t": 1')  # a crash mid-write
    reopened = InProcessFraudState(tmp_path)
    assert reopened.recall("a") == {"score": 0.1} and reopened.recall("b") is None
    reopened.record("c", 2.0, 7.0, {"customer_id": "c"}, {"score": 0.2})
    reopened.close()
    assert InProcessFraudState(tmp_path).recall("c") == {"score": 0.2}
