"""benchmarks/route_cpu.py: the in-process timing of the planner routes runs and answers 200s."""

from __future__ import annotations

import re
import sys

import pytest


@pytest.mark.slow
def test_route_cpu_benchmark_times_every_route(monkeypatch, capsys):
    from benchmarks import route_cpu

    monkeypatch.setattr(sys, "argv", ["route_cpu.py", "--requests", "20", "--repeats", "1"])
    monkeypatch.setenv("SHELFWISE_FREEZE_HEAP", "false")  # leave the test process's heap alone
    route_cpu.main()  # exits with the status if a route does not answer 200
    rows = re.findall(r"^\| (GET|POST) (\S+).* \| (\d+) \| ([\d.]+) \|$", capsys.readouterr().out, re.M)
    assert [path for _, path, _, _ in rows] == ["/health", "/v1/forecast", "/v1/inventory/{item}/reorder"]
    assert all(int(micros) > 0 for _, _, micros, _ in rows)
