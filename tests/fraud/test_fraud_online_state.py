"""InProcessFraudState: journal replay, compaction, migration and bounded memory keep features unchanged."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from fraud import online_state
from fraud.online_state import JOURNAL, LEGACY_JOURNAL, InProcessFraudState

DAY = 86400.0


def _ops(n: int = 3000, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    ops: list[tuple] = []
    for i in range(n):
        ents = {
            "customer_id": f"c{rng.integers(30)}",
            "device_id": None if i % 7 == 0 else f"d{rng.integers(20)}",
        }
        ops.append(("tx", f"t{i}", i * 0.02 * DAY, float(rng.integers(1, 500)), ents))
        if rng.random() < 0.1:
            ops.append(("label", f"t{i}", bool(rng.random() < 0.7)))
    return ops


def _entries(directory: Path) -> int:
    with sqlite3.connect(directory / JOURNAL) as conn:
        return conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]


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
    ops = _ops()
    memory = InProcessFraudState(retention_s=20 * DAY)
    _apply(memory, ops[:2500])
    disk = InProcessFraudState(tmp_path, retention_s=20 * DAY)
    _apply(disk, ops[:2500])
    disk.close()
    entries_before = _entries(tmp_path)
    assert entries_before == 2500  # one committed entry per record and per label
    monkeypatch.setattr(online_state, "COMPACT_MIN_LINES", 10)
    reopened = InProcessFraudState(tmp_path, retention_s=20 * DAY)  # compacts: most answers expired
    assert _entries(tmp_path) < entries_before / 2
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


def test_journal_stays_bounded_while_serving(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The write that makes the journal too long for the live state compacts it, without a restart."""
    monkeypatch.setattr(online_state, "COMPACT_MIN_LINES", 10)
    ops = _ops()
    memory = InProcessFraudState(retention_s=3 * DAY)
    disk = InProcessFraudState(tmp_path, retention_s=3 * DAY)
    longest = most_live = 0
    for start in range(0, len(ops), 100):
        _apply(memory, ops[start : start + 100])
        _apply(disk, ops[start : start + 100])
        longest, most_live = max(longest, _entries(tmp_path)), max(most_live, len(memory))
        assert disk.sizes()["fraud_journal_rows"] == _entries(tmp_path)
    # Never more than the compaction line plus one batch of writes (entities + answers + a batch).
    assert longest <= 2 * online_state.COMPACT_FACTOR * most_live + 10 + 100
    assert longest < len(ops) / 2
    assert _snapshot(disk) == _snapshot(memory)
    disk.close()
    assert _snapshot(InProcessFraudState(tmp_path, retention_s=3 * DAY)) == _snapshot(memory)


def test_legacy_jsonl_journal_is_migrated_once(tmp_path: Path) -> None:
    """A JSON-lines journal of an earlier version (torn last line included) moves into SQLite."""
    lines = [
        {
            "op": "tx",
            "id": "a",
            "t": 0.0,
            "amount": 5.0,
            "entities": {"customer_id": "c"},
            "answer": {"s": 1},
        },
        {
            "op": "tx",
            "id": "b",
            "t": 1.0,
            "amount": 7.0,
            "entities": {"customer_id": "c"},
            "answer": {"s": 2},
        },
        {"op": "label", "id": "a", "fraud": 1},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines) + '{"op": "tx", "id": "z", "t": 1'
    (tmp_path / LEGACY_JOURNAL).write_text(text)
    state = InProcessFraudState(tmp_path)
    assert state.recall("b") == {"s": 2} and state.recall("z") is None
    assert not (tmp_path / LEGACY_JOURNAL).exists()
    assert (tmp_path / (LEGACY_JOURNAL + ".migrated")).read_text() == text
    state.record("c", 2.0, 1.0, {"customer_id": "c"}, {"s": 3})
    state.close()
    hist = InProcessFraudState(tmp_path).history("customer_id", "c")
    assert hist is not None and (hist.ids, hist.frauds, hist.n_all) == (["a", "b", "c"], [1, 0, 0], 3)


def test_migration_cut_short_before_the_rename_is_not_replayed_twice(tmp_path: Path) -> None:
    state = InProcessFraudState(tmp_path)
    state.record("a", 0.0, 5.0, {"customer_id": "c"}, {"s": 1})
    state.close()
    stale = {"op": "tx", "id": "old", "t": 0.0, "amount": 1.0, "entities": {"customer_id": "c"}, "answer": {}}
    (tmp_path / LEGACY_JOURNAL).write_text(json.dumps(stale) + "\n")
    reopened = InProcessFraudState(tmp_path)
    assert reopened.recall("a") == {"s": 1} and reopened.recall("old") is None
    assert not (tmp_path / LEGACY_JOURNAL).exists()


def test_failed_commit_changes_nothing_in_memory(tmp_path: Path) -> None:
    state = InProcessFraudState(tmp_path)
    state.record("a", 0.0, 5.0, {"customer_id": "c"}, {"s": 1})
    assert state._db is not None
    state._db.execute("CREATE TRIGGER refuse BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'disk'); END")
    with pytest.raises(sqlite3.IntegrityError):
        state.record("b", 1.0, 5.0, {"customer_id": "c"}, {"s": 2})
    with pytest.raises(sqlite3.IntegrityError):
        state.label("a", True)
    hist = state.history("customer_id", "c")
    assert state.recall("b") is None and hist is not None and (hist.ids, hist.frauds) == (["a"], [0])
