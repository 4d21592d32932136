"""A short run of benchmarks/soak.py: ~20 s of the mixed workload at a low rate against one real
uvicorn serving all four families (baseline models on the small demo store). It checks that no
request failed and that the per-window table and the verdict are made of sane numbers; how fast
anything was is the benchmark's business, not this test's."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_short_soak_has_no_errors_and_sane_windows(tmp_path: Path) -> None:
    from benchmarks import soak

    dirs = soak.build_models(tmp_path, quick=True)
    rate, duration, window = 15.0, 20.0, 5.0
    windows, result = soak.run_soak(
        dirs,
        tmp_path / "store",
        rate=rate,
        duration=duration,
        concurrency=4,
        window=window,
        retention_s=3.0,
        trim_s=2.0,
    )
    text = soak.report(windows, result, window)

    assert result["errors"] == 0, text
    assert result["errors_5xx"] == 0 and result["transport_errors"] == 0, text
    assert result["requests"] == int(rate * duration), text
    assert set(result["by_kind"]) == set(soak.MIX), text
    assert all(kind["requests"] > 0 for kind in result["by_kind"].values()), text

    assert [w["window"] for w in windows] == [1, 2, 3, 4], text
    assert sum(w["requests"] for w in windows) == result["requests"], text
    for w in windows:
        assert w["requests"] > 0 and w["errors"] == 0, text
        assert 0 < w["p50_ms"] <= w["p99_ms"], text
        assert w["rss_mb"] > 50, text  # a Python process with numpy, lightgbm and four models
        assert w["server_cpu_pct"] >= 0 and w["load_1m"] >= 0, text
        assert 0 < w["server_mean_ms"] < w["p99_ms"], text  # handler time is part of the latency
    assert math.isfinite(result["p99_ratio"]) and result["p99_ratio"] > 0, text
    assert result["p99_spread"] >= max(result["p99_ratio"], 1 / result["p99_ratio"]) - 1e-9, text
    assert result["rss_start_mb"] == windows[0]["rss_mb"] and result["rss_end_mb"] == windows[-1]["rss_mb"]
    assert math.isfinite(result["rss_growth"]), text
    assert set(result["pass"]) == {"errors", "p99_ratio", "rss_growth"} and result["pass"]["errors"], text
    assert "| 5s window |" in text and "RSS" in text
    # The state is probed and trimmed to the retention: the log never holds as many rows as event
    # requests were accepted (each carried at least one event).
    state = result["state"]
    assert state["judged"] and "state sizes" in text and "log rows" in windows[-1], text
    assert 0 < state["end"]["log rows"] < result["by_kind"]["events"]["requests"], text
    assert state["end"]["state MB"] > 0 and "fraud answers" in state["end"], text
