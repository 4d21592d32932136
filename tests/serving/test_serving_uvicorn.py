"""End to end: a real ``uvicorn`` process serving saved models, called over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # SIGINT stops uvicorn promptly; SIGTERM was seen to hang on this uvicorn version.
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _wait_until_up(proc: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"uvicorn did not come up (exit code {proc.returncode}):\n{log.read_text()}")


@pytest.fixture()
def server(model_dirs: dict[str, Path], tmp_path: Path) -> Iterator[str]:
    """A uvicorn process serving the tiny shop's models on a free port; stopped with SIGINT."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFWISE_")}
    env |= {
        "SHELFWISE_MODEL_DIRS": json.dumps({f: str(d) for f, d in model_dirs.items()}),
        "SHELFWISE_API_KEYS": json.dumps({"e2e-key-0123456789abcdefghij": ["storefront", "planner"]}),
        "SHELFWISE_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(REPO),
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "serving.app:create_app_from_env"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "5", "--no-access-log"]
    log_path = tmp_path / "uvicorn.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(proc, f"http://127.0.0.1:{port}", log_path)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)
    assert proc.returncode == 0, f"uvicorn did not shut down cleanly:\n{log_path.read_text()}"


def test_real_uvicorn_serves_the_api(server: str) -> None:
    with httpx.Client(
        base_url=server, headers={"X-API-Key": "e2e-key-0123456789abcdefghij"}, timeout=10
    ) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        recs = client.post("/v1/recommendations", json={"k": 3, "filters": {"category": "Kitchen"}})
        assert recs.status_code == 200
        assert recs.json()["model_version"] == "local:recsys" and len(recs.json()["items"]) == 3
        forecast = client.post("/v1/forecast", json={"item_id": "pan", "horizon": 2})
        assert forecast.status_code == 200 and len(forecast.json()["points"]) == 2
        denied = client.post("/v1/fraud/score", json={})
        assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
        too_big = client.post(
            "/v1/recommendations", content=b"x" * 1_000_001, headers={"Content-Type": "application/json"}
        )
        assert too_big.status_code == 413
        assert "http_requests_total" in client.get("/metrics").text
