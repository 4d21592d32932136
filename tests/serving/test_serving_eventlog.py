"""DurableOnlineState: what was acknowledged survives a reopen, a crash and concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from serving_support import _transactions

from fraud.online_state import InProcessFraudState
from fraud.velocity_model import VelocityFraudModel
from serving.online.eventlog import DurableOnlineState
from serving.online.state import Event, FraudFeedback, InMemoryOnlineState

KEY = "eventlog-key-0123456789abcdefghij"

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _ev(user: str, item: str, minutes: int, kind: str = "view") -> Event:
    return Event(user, item, kind, T0 + timedelta(minutes=minutes), session_id="s1")


def _rows(path: Path, table: str = "events") -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_events_and_feedback_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "events.db"
    state = DurableOnlineState(path)
    state.add_events([_ev("u1", "lamp", 0), _ev("u1", "rug", 1, "purchase"), _ev("u2", "wok", 2)])
    naive = Event("u1", "ladle", "add_to_cart", datetime(2024, 3, 1, 12, 5), order_id="o1", quantity=3)
    state.add_events([naive])
    label = FraudFeedback("t9", True, received_at=T0, extra={"source": "chargeback", "n": 2})
    state.add_fraud_feedback(label)
    state.close()

    reopened = DurableOnlineState(path)
    assert reopened.user_history("u1") == (["rug"], ["ladle", "lamp"])
    assert reopened.user_history("u2") == ([], ["wok"])
    assert reopened.fraud_feedback() == [label]
    # Timestamps come back exactly (naive stays naive, aware keeps its zone), as do the extras.
    assert reopened.inner._users["u1"][-1] == naive  # type: ignore[attr-defined]


def test_replay_keeps_commit_order_and_the_per_user_cap(tmp_path: Path) -> None:
    """Reopening gives the state the in-memory one had, and trims the log to what memory keeps."""
    batches = [
        [_ev(f"u{(b + i) % 3}", f"i{b}-{i}", minutes=(b * 7 + i * 13) % 50) for i in range(4)]
        for b in range(30)
    ]
    memory = InMemoryOnlineState(max_events_per_user=10)
    state = DurableOnlineState(tmp_path / "e.db", inner=InMemoryOnlineState(max_events_per_user=10))
    for batch in batches:
        memory.add_events(batch)
        state.add_events(batch)
    state.close()
    assert _rows(tmp_path / "e.db") == 120
    reopened = DurableOnlineState(tmp_path / "e.db", inner=InMemoryOnlineState(max_events_per_user=10))
    for user in ("u0", "u1", "u2"):
        assert reopened.user_history(user) == memory.user_history(user)
    assert _rows(tmp_path / "e.db") == 30  # 10 newest per user kept, the rest was dropped at start
    # Late events: the event time, not the arrival order, decides recency after a reopen too.
    reopened.add_events([_ev("u9", "new", 10), _ev("u9", "old", -10)])
    reopened.close()
    assert DurableOnlineState(tmp_path / "e.db").user_history("u9") == ([], ["new", "old"])


def test_rows_older_than_the_retention_are_dropped_at_start(tmp_path: Path) -> None:
    state = DurableOnlineState(tmp_path / "e.db")
    state.add_events([_ev("u1", "old", 0)])
    state.add_fraud_feedback(FraudFeedback("t-old", False, received_at=T0))
    state.close()
    with sqlite3.connect(tmp_path / "e.db") as conn:  # pretend they were logged 100 days ago
        conn.execute("UPDATE events SET received_at = received_at - 100 * 86400")
        conn.execute("UPDATE fraud_feedback SET logged_at = logged_at - 100 * 86400")
    state = DurableOnlineState(tmp_path / "e.db", retention_s=200 * 86400)
    assert state.user_history("u1") == ([], ["old"])
    state.add_events([_ev("u1", "new", 1)])
    state.close()
    state = DurableOnlineState(tmp_path / "e.db", retention_s=30 * 86400)
    assert state.user_history("u1") == ([], ["new"]) and state.fraud_feedback() == []


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    state = DurableOnlineState(tmp_path / "e.db")
    n_threads, n_batches = 8, 40

    def write(t: int) -> None:
        for b in range(n_batches):
            state.add_events([_ev(f"u{t}-{b}", f"i{k}", k) for k in range(3)])
            if b % 10 == 0:
                state.add_fraud_feedback(FraudFeedback(f"t{t}-{b}", b % 20 == 0, received_at=T0))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state.close()
    assert _rows(tmp_path / "e.db") == n_threads * n_batches * 3
    reopened = DurableOnlineState(tmp_path / "e.db")
    for t in range(n_threads):
        for b in range(n_batches):
            assert reopened.user_history(f"u{t}-{b}") == ([], ["i2", "i1", "i0"])
    labels = {f.transaction_id for f in reopened.fraud_feedback()}
    assert labels == {f"t{t}-{b}" for t in range(n_threads) for b in range(0, n_batches, 10)}


_CRASHING_WRITER = """
import os, signal, sys
from datetime import datetime, timezone
from serving.online.eventlog import DurableOnlineState
from serving.online.state import Event
state = DurableOnlineState(sys.argv[1])
t = datetime(2024, 3, 1, tzinfo=timezone.utc)
for b in range(50):
    state.add_events([Event(f"u{b}", f"i{k}", "view", t) for k in range(4)])
conn = state._conn  # a batch half-written when the process dies: BEGIN, rows, no COMMIT
conn.execute("BEGIN IMMEDIATE")
conn.executemany(
    "INSERT INTO events (user_id, item_id, event_type, ts, quantity, received_at) VALUES (?, ?, ?, ?, 1, 0)",
    [("torn", f"x{k}", "view", t.isoformat()) for k in range(2000)],
)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_process_killed_mid_write_keeps_every_committed_batch(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _CRASHING_WRITER, str(path)], env=env, timeout=60)
    assert proc.returncode == -9
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size > 0  # the commits are in the WAL, not yet checkpointed
    with open(wal, "ab") as fh:  # and a torn frame at its end, as a crash mid-append leaves
        fh.write(os.urandom(3000))
    state = DurableOnlineState(path)
    assert _rows(path) == 200
    assert all(state.user_history(f"u{b}") == ([], ["i0", "i1", "i2", "i3"]) for b in range(50))
    assert state.user_history("torn") == ([], [])


def test_a_failed_commit_is_not_applied_in_memory(tmp_path: Path) -> None:
    state = DurableOnlineState(tmp_path / "e.db")
    state._conn.execute("CREATE TRIGGER full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk'); END")
    with pytest.raises(sqlite3.IntegrityError):
        state.add_events([_ev("u1", "lamp", 0)])
    assert state.user_history("u1") == ([], [])
    state.add_fraud_feedback(FraudFeedback("t1", True, received_at=T0))  # the other table still works
    assert len(state.fraud_feedback()) == 1


def test_served_process_logs_events_under_home_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving.app import create_app_from_env

    monkeypatch.setenv("SHELFWISE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHELFWISE_MODEL_DIRS", "{}")
    monkeypatch.setenv("SHELFWISE_FAMILIES", '["fraud"]')
    monkeypatch.setenv("SHELFWISE_FRAUD_STATE_DIR", str(tmp_path / "fraud"))
    app = create_app_from_env()
    assert isinstance(app.state.online, DurableOnlineState)
    assert app.state.online.path == tmp_path / "home" / "state" / "events.db"
    app.state.online.close()
    monkeypatch.setenv("SHELFWISE_EVENT_LOG_PATH", str(tmp_path / "elsewhere.db"))
    assert create_app_from_env().state.online.path == tmp_path / "elsewhere.db"


# ---------------------------------------------------------------------- kill -9 under load
def _start_server(home: Path, model_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``uvicorn --factory serving.app:create_app_from_env`` on a free port, state under ``home``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFWISE_")}
    env |= {
        "SHELFWISE_MODEL_DIRS": json.dumps({"fraud": str(model_dir)}),
        "SHELFWISE_FAMILIES": '["fraud"]',
        "SHELFWISE_API_KEYS": json.dumps({KEY: ["storefront", "checkout"]}),
        "SHELFWISE_HOME": str(home),
        "SHELFWISE_RATE_LIMIT_PER_MINUTE": "0",
        "PYTHONPATH": str(REPO),
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "serving.app:create_app_from_env"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=home.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"uvicorn did not come up (exit code {proc.poll()}):\n{log.read_text()}")


def _events_body(user: str, items: list[str]) -> dict[str, object]:
    stamp = "2024-03-01T12:00:00Z"
    return {
        "events": [{"user_id": user, "item_id": i, "event_type": "view", "timestamp": stamp} for i in items]
    }


def _tx_body(tx_id: str, n: int) -> dict[str, object]:
    stamp = f"2024-02-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z"
    return {
        "transaction_id": tx_id,
        "customer_id": f"c{n % 7}",
        "amount": 10.0 + n % 500,
        "channel": "web",
    } | {"timestamp": stamp}


class _Clients:
    """Storefront and checkout clients posting until the server dies; they keep what got a 2xx."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.batches: dict[str, list[str]] = {}  # acknowledged: user -> item ids
        self.scored: dict[str, dict[str, object]] = {}  # acknowledged: transaction id -> response
        self.labels: dict[str, bool] = {}  # acknowledged feedback
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def events(self, c: int) -> None:
        with httpx.Client(base_url=self.base, headers={"X-API-Key": KEY}, timeout=10) as http:
            for b in range(1_000_000):
                user, items = f"u{c}-{b}", [f"i{c}-{b}-{k}" for k in range(5)]
                if self._post(http, "/v1/events", _events_body(user, items)) is None:
                    return
                with self._lock:
                    self.batches[user] = items

    def fraud(self, c: int) -> None:
        with httpx.Client(base_url=self.base, headers={"X-API-Key": KEY}, timeout=10) as http:
            for n in range(1_000_000):
                tx_id = f"t{c}-{n}"
                answer = self._post(http, "/v1/fraud/score", _tx_body(tx_id, n))
                if answer is None:
                    return
                with self._lock:
                    self.scored[tx_id] = answer
                if n % 3 == 0:
                    if (
                        self._post(
                            http, "/v1/fraud/feedback", {"transaction_id": tx_id, "is_fraud": n % 2 == 0}
                        )
                        is None
                    ):
                        return
                    with self._lock:
                        self.labels[tx_id] = n % 2 == 0

    def _post(self, http: httpx.Client, path: str, body: dict[str, object]) -> dict[str, object] | None:
        try:
            response = http.post(path, json=body)
        except httpx.TransportError as exc:  # the server is gone: this client stops
            with self._lock:
                self.errors.append(repr(exc))
            return None
        assert response.is_success, response.text
        return response.json()


@pytest.fixture(scope="module")
def velocity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = VelocityFraudModel(n_estimators=30, min_child_samples=5, entities=["customer_id"])
    return model.fit(_transactions()).save(tmp_path_factory.mktemp("velocity") / "fraud")


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_event_score_or_label(
    velocity_dir: Path, tmp_path: Path
) -> None:
    home, log = tmp_path / "home", tmp_path / "uvicorn.log"
    proc, base = _start_server(home, velocity_dir, log)
    clients = _Clients(base)
    threads = [threading.Thread(target=clients.events, args=(c,)) for c in range(4)]
    threads += [threading.Thread(target=clients.fraud, args=(c,)) for c in range(2)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(clients.batches) < 200 or len(clients.labels) < 20):
            time.sleep(0.05)
        proc.kill()  # SIGKILL while every client is mid-stream
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        for thread in threads:
            thread.join(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(clients.errors) == len(threads), "every client was still posting when the server died"
    acked = (
        f"{len(clients.batches)} event batches, {len(clients.scored)} scores, {len(clients.labels)} labels"
    )
    print(f"acknowledged before the kill: {acked}")
    assert len(clients.batches) >= 200 and len(clients.labels) >= 20, acked

    # Rebuild both states from their logs, as a restarted server does.
    events = DurableOnlineState(home / "state" / "events.db")
    lost = [u for u, items in clients.batches.items() if sorted(events.user_history(u)[1]) != items]
    assert not lost, f"{len(lost)} acknowledged event batches lost of {acked}: {lost[:5]}"
    logged = {f.transaction_id: f.is_fraud for f in events.fraud_feedback()}
    assert all(logged.get(tx) == label for tx, label in clients.labels.items()), acked
    events.close()
    fraud = InProcessFraudState(home / "fraud-state")
    for tx, body in clients.scored.items():
        stored = fraud.recall(tx)
        assert stored is not None, f"the score of {tx} was lost ({acked})"
        assert (stored["score"], stored["decision"]) == (body["score"], body["decision"])
    for tx, label in clients.labels.items():
        hist = fraud.history("customer_id", f"c{int(tx.split('-')[1]) % 7}")
        assert hist is not None and hist.frauds[hist.ids.index(tx)] == int(label)
    fraud.close()

    # A server restarted on the crashed files comes up and answers from the rebuilt state.
    proc, base = _start_server(home, velocity_dir, log)
    try:
        tx, body = next(iter(clients.scored.items()))
        again = httpx.post(
            f"{base}/v1/fraud/score", json=_tx_body(tx, 0), headers={"X-API-Key": KEY}, timeout=10
        )
        assert again.status_code == 200 and again.json()["score"] == body["score"]  # the stored answer
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
