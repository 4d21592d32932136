"""The small demo store trained through the installed ``shelfwise`` command, and a real server on it.

Shared by the end-to-end tests and the console's browser tests (one training per test session).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

SHELFWISE = str(Path(sys.executable).with_name("shelfwise"))
STOREFRONT, CHECKOUT, PLANNER, ADMIN, CONSOLE = (
    "sf-key-abcdefghijklmnopqrstu",
    "co-key-abcdefghijklmnopqrstu",
    "pl-key-abcdefghijklmnopqrstu",
    "ad-key-abcdefghijklmnopqrstu",
    "console-key-abcdefghijklmnopqrstu",
)
KEYS = {
    STOREFRONT: ["storefront"],
    CHECKOUT: ["checkout"],
    PLANNER: ["planner"],
    ADMIN: ["admin"],
    CONSOLE: ["storefront", "checkout", "planner", "admin"],
}
FIGURES = [
    "recsys_ndcg_by_stage.png",
    "search_ndcg_per_query.png",
    "fraud_precision_recall.png",
    "fraud_calibration.png",
    "fraud_scores_by_label.png",
    "fraud_feature_importance.png",
    "forecast_sample_series.png",
    "forecast_coverage_by_horizon.png",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_demo_home(root: Path) -> tuple[dict[str, str], Path]:
    """``shelfwise demo-data`` (small, seed 7) then ``shelfwise train all`` into ``root/home``.

    Returns the environment that points ``shelfwise`` at that home (with :data:`KEYS`) and the
    store folder.
    """
    env = {**os.environ, "SHELFWISE_HOME": str(root / "home"), "SHELFWISE_API_KEYS": json.dumps(KEYS)}
    data = root / "store"
    run = subprocess.run(
        [SHELFWISE, "demo-data", "--out", str(data), "--scale", "small", "--seed", "7"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    run = subprocess.run(
        [SHELFWISE, "train", "all", "--data", str(data), "--seed", "7"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for family in ("recsys", "search", "fraud", "forecasting"):
        assert f"{family} v1" in run.stdout, run.stdout
    listing = subprocess.run([SHELFWISE, "models"], env=env, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0 and "champion" in listing.stdout, listing.stdout + listing.stderr
    figures = sorted(p.name for p in (root / "home" / "mlartifacts").rglob("evaluation/figures/*.png"))
    assert figures == sorted(FIGURES), figures  # every run logs its figures to MLflow
    return env, data


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """``shelfwise serve`` on a free port, yielded as its base URL once ``/ready`` says 200."""
    port = free_port()
    proc = subprocess.Popen(
        [SHELFWISE, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "server died"
            time.sleep(0.3)
        else:
            pytest.fail("server never became ready")
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
