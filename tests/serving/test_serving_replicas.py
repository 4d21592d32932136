"""Two real uvicorn replicas sharing one Redis (``SHELFWISE_STATE_URL``) behave as one server.

An event posted to replica A shapes B's next recommendation; transactions scored alternately on
A and B get exactly the answers one in-process server gives (and not those of two replicas with
separate states); a rescore or a label on the other replica sees the first one's record.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient
from redis_support import REDIS_URL, fresh_namespace, redis_or_skip
from serving_support import make_settings

from fraud.online_state import InProcessFraudState
from fraud.redis_state import RedisFraudState
from fraud.velocity_model import VelocityFraudModel
from serving.app import create_app
from serving.fraud_runtime import FraudRuntime
from serving.model_store import ModelStore

REPO = Path(__file__).resolve().parents[2]
KEY = {"X-API-Key": "replica-key-abcdefghijklmnopqrstu"}
pytestmark = pytest.mark.slow


def _bursty_transactions(n_customers: int = 60, seed: int = 0) -> pd.DataFrame:
    """Weekly shoppers plus card-testing bursts (payments minutes apart; fraud after the first)."""
    rng = np.random.default_rng(seed)
    start, rows = pd.Timestamp("2024-01-01"), []
    for c in range(n_customers):
        for hours in np.sort(rng.uniform(0, 60 * 24, 8)):
            rows.append((f"c{c}", start + pd.Timedelta(hours=float(hours)), float(rng.gamma(2.0, 40.0)), 0))
    for _ in range(25):
        customer, hours = f"c{rng.integers(n_customers)}", float(rng.uniform(0, 60 * 24))
        for k in range(6):
            stamp = start + pd.Timedelta(hours=hours, minutes=4 * k)
            rows.append((customer, stamp, float(rng.gamma(2.0, 40.0)), int(k > 0)))
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "is_fraud"])
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    return frame.assign(transaction_id=[f"x{i}" for i in range(len(frame))], channel="web")


@pytest.fixture(scope="module")
def velocity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = VelocityFraudModel(n_estimators=30, min_child_samples=5, entities=["customer_id"])
    return model.fit(_bursty_transactions()).save(tmp_path_factory.mktemp("replicas") / "fraud")


@pytest.fixture()
def client() -> redis.Redis:
    return redis_or_skip()


@pytest.fixture()
def namespace(client: redis.Redis) -> Iterator[str]:
    yield from fresh_namespace(client)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _replica(dirs: dict[str, Path], state_url: str, home: Path) -> Iterator[str]:
    """One ``uvicorn`` process; yields its base URL once /health answers, stops it with SIGINT."""
    port, log_path = _free_port(), home / "uvicorn.log"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFWISE_")}
    env |= {
        "SHELFWISE_MODEL_DIRS": json.dumps({f: str(d) for f, d in dirs.items()}),
        "SHELFWISE_API_KEYS": json.dumps({"replica-key-abcdefghijklmnopqrstu": ["storefront", "checkout"]}),
        "SHELFWISE_STATE_URL": state_url,
        "SHELFWISE_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "serving.app:create_app_from_env"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "5", "--no-access-log"]
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            else:
                pytest.fail(f"replica did not come up (exit code {proc.returncode}):\n{log_path.read_text()}")
            yield base
        finally:
            proc.send_signal(signal.SIGINT)  # SIGINT stops uvicorn promptly (test_serving_uvicorn)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _transactions() -> list[dict[str, object]]:
    """Two customers paying minutes apart, each alternately on both replicas under round robin."""
    start = pd.Timestamp("2024-02-01T10:00:00Z")
    return [
        {
            "transaction_id": f"r{i}",
            "timestamp": (start + pd.Timedelta(minutes=5 * i)).isoformat(),
            "customer_id": f"c{(i // 2) % 2}",
            "amount": 60.0 + 7 * i,
            "channel": "web",
        }
        for i in range(12)
    ]


def _answers(clients: Sequence[httpx.Client | TestClient]) -> list[dict[str, object]]:
    """Score the stream round-robin over ``clients``; the answers without ``model_version``."""
    out = []
    for i, tx in enumerate(_transactions()):
        response = clients[i % len(clients)].post("/v1/fraud/score", json=tx)
        assert response.status_code == 200, response.text
        out.append({k: v for k, v in response.json().items() if k != "model_version"})
    return out


def _in_process(velocity_dir: Path, replicas: int) -> list[dict[str, object]]:
    """The same stream over ``replicas`` in-process apps, each with its own fraud state."""
    with ExitStack() as stack:
        clients = []
        for _ in range(replicas):
            store = ModelStore.from_dirs({"fraud": velocity_dir}, families=["fraud"])
            app = create_app(make_settings(families=["fraud"]), model_store=store)
            app.state.fraud = FraudRuntime(InProcessFraudState())
            clients.append(
                stack.enter_context(
                    TestClient(app, headers={"X-API-Key": "checkout-key-abcdefghijklmnopqrstu"})
                )
            )
        return _answers(clients)


def test_two_replicas_share_events_and_fraud_state(
    model_dirs: dict[str, Path], velocity_dir: Path, client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    dirs = model_dirs | {"fraud": velocity_dir}
    url = f"{REDIS_URL}?namespace={namespace}"
    with (
        _replica(dirs, url, tmp_path / "a") as base_a,
        _replica(dirs, url, tmp_path / "b") as base_b,
        httpx.Client(base_url=base_a, headers=KEY, timeout=30) as a,
        httpx.Client(base_url=base_b, headers=KEY, timeout=30) as b,
    ):
        # Events: the bestseller leaves B's recommendations once A hears the user bought it.
        before = b.post("/v1/recommendations", json={"user_id": "shared-u", "k": 3}).json()
        assert "novel" in [item["item_id"] for item in before["items"]]
        event = {"user_id": "shared-u", "item_id": "novel", "event_type": "purchase", "order_id": "o1"}
        assert a.post("/v1/events", json={"events": [event]}).status_code == 202
        after = b.post("/v1/recommendations", json={"user_id": "shared-u", "k": 3}).json()
        assert "novel" not in [item["item_id"] for item in after["items"]]

        # Fraud: alternate replicas, exactly the answers of one process with one state.
        shared = _answers([a, b])
        assert shared == _in_process(velocity_dir, replicas=1)
        assert shared != _in_process(velocity_dir, replicas=2)  # separate states would differ
        state = RedisFraudState(client, namespace=namespace)
        history = state.history("customer_id", "c0")
        assert history is not None and history.n_all == 6
        assert history.ids == ["r0", "r1", "r4", "r5", "r8", "r9"]

        # Idempotency and labels across replicas: r0 was scored on A.
        retried = b.post("/v1/fraud/score", json=_transactions()[0])
        assert retried.headers["Idempotent-Replayed"] == "true"
        assert {k: v for k, v in retried.json().items() if k != "model_version"} == shared[0]
        clash = b.post("/v1/fraud/score", json=_transactions()[0] | {"amount": 5000.0})
        assert clash.status_code == 409 and clash.json()["differing_fields"] == ["amount"]
        feedback = {"transaction_id": "r0", "is_fraud": True}
        assert b.post("/v1/fraud/feedback", json=feedback).status_code == 202
        history = state.history("customer_id", "c0")
        assert history is not None and history.n_all == 6 and history.frauds[0] == 1
