"""Load generator for serving benchmarks: a real uvicorn server, load from this (second) process.

Use it from a benchmark script::

    from benchmarks.loadgen import Scenario, running_server, measure_all, print_table

    with running_server({"recsys": "/path/to/model"}) as (url, key):
        rows = measure_all(url, key, [Scenario("recs", "POST", "/v1/recommendations",
                                               body=lambda i: {"user_id": f"u{i % 500}"})])
    print_table(rows)

or from the shell (bodies are JSON; ``{i}`` in a path or body is replaced by the request number)::

    python benchmarks/loadgen.py --model-dirs '{"recsys": "DIR"}' \\
        --scenario 'recs=POST:/v1/recommendations:{"user_id": "u{i}"}' --duration 10

Every run measures ``GET /health`` on the same server first, so each endpoint's throughput is
printed as a ratio of /health measured side by side. Latency is client-observed, keep-alive,
``concurrency`` requests in flight (default 8). Requests go to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ALL_SCOPES = ["storefront", "checkout", "planner", "admin"]
Body = dict[str, Any] | Callable[[int], dict[str, Any]] | None
Path_ = str | Callable[[int], str]


SEQ = "__SEQ__"  # in a wrk body: replaced by a per-request unique token (see _wrk_script)


@dataclass
class Scenario:
    """One endpoint to load: ``path``/``body`` may be functions of the request number."""

    name: str
    method: str
    path: Path_
    body: Body = None


@dataclass
class Result:
    """Client-side latency and throughput of one scenario."""

    name: str
    requests: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    rps: float
    statuses: dict[int, int]


class Served(tuple[str, str]):
    """``(url, key)`` as before (it unpacks the same), plus the server process's ``pid``."""

    pid: int

    def __new__(cls, url: str, key: str, pid: int) -> Served:
        served = super().__new__(cls, (url, key))
        served.pid = pid
        return served


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(
    model_dirs: dict[str, str] | None = None,
    *,
    env: dict[str, str] | None = None,
    ready_timeout: float = 120.0,
    workers: int = 1,
) -> Iterator[Served]:
    """Start ``uvicorn --factory serving.app:create_app_from_env`` on a free port; yield (url, key).

    The yielded tuple also carries the server's ``pid`` (``served.pid``), e.g. to sample its RSS.

    ``model_dirs`` serves model directories directly (SHELFWISE_MODEL_DIRS); without it the
    server loads champions from the registry under ``SHELFWISE_HOME`` (pass it in ``env``).
    Without a ``SHELFWISE_HOME`` the server's durable state (event log, fraud journal) goes to a
    temporary directory removed afterwards, so runs neither share nor accumulate state.
    ``workers`` > 1: uvicorn ``--workers`` (give them a shared ``SHELFWISE_STATE_URL``).
    """
    with tempfile.TemporaryDirectory(prefix="shelfwise-bench-home-") as home:
        if "SHELFWISE_HOME" not in (env or {}):
            env = {**(env or {}), "SHELFWISE_HOME": home}
        with _serve(model_dirs, env=env, ready_timeout=ready_timeout, workers=workers) as served:
            yield served


@contextmanager
def _serve(
    model_dirs: dict[str, str] | None, *, env: dict[str, str] | None, ready_timeout: float, workers: int = 1
) -> Iterator[Served]:
    key = "bench-" + secrets.token_urlsafe(24)
    port = _free_port()
    full_env = {**os.environ, **(env or {}), "SHELFWISE_API_KEYS": json.dumps({key: ALL_SCOPES})}
    full_env.setdefault("SHELFWISE_MAX_BATCH", "1000")
    full_env.setdefault("SHELFWISE_RATE_LIMIT_PER_MINUTE", "0")  # measure the server, not the limiter
    if model_dirs:
        full_env["SHELFWISE_MODEL_DIRS"] = json.dumps(model_dirs)
        full_env["SHELFWISE_FAMILIES"] = json.dumps(sorted(model_dirs))
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "serving.app:create_app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--timeout-graceful-shutdown",
        "5",
        "--no-access-log",
        *(["--workers", str(workers)] if workers > 1 else []),
    ]
    proc = subprocess.Popen(cmd, env=full_env, cwd=Path(__file__).resolve().parents[1])
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, ready_timeout)
        yield Served(url, key, proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} not ready after {timeout:.0f}s")


def _resolve(value: Any, i: int) -> Any:
    return value(i) if callable(value) else value


async def _worker(
    client: httpx.AsyncClient,
    sc: Scenario,
    key: str,
    stop: float,
    counter: list[int],
    lat: list[float],
    statuses: dict[int, int],
) -> None:
    headers = {"X-API-Key": key}
    while time.perf_counter() < stop:
        i = counter[0]
        counter[0] += 1
        body = _resolve(sc.body, i)
        t0 = time.perf_counter()
        try:
            r = await client.request(sc.method, _resolve(sc.path, i), json=body, headers=headers)
            code = r.status_code
        except httpx.HTTPError:
            code = 0
        lat.append(time.perf_counter() - t0)
        statuses[code] = statuses.get(code, 0) + 1


async def _measure(
    url: str, key: str, sc: Scenario, concurrency: int, duration: float, warmup: float
) -> Result:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        if warmup > 0:  # warm connections, caches and lazy imports; not counted
            await asyncio.gather(
                *(
                    _worker(client, sc, key, time.perf_counter() + warmup, [0], [], {})
                    for _ in range(concurrency)
                )
            )
        lat: list[float] = []
        statuses: dict[int, int] = {}
        counter = [0]
        start = time.perf_counter()
        stop = start + duration
        await asyncio.gather(
            *(_worker(client, sc, key, stop, counter, lat, statuses) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - start
    ms = np.asarray(lat) * 1000.0
    errors = sum(n for code, n in statuses.items() if code == 0 or code >= 400)
    return Result(
        sc.name, len(lat), errors, *np.percentile(ms, [50, 90, 99]).tolist(), len(lat) / elapsed, statuses
    )


def default_engine() -> str:
    """``wrk`` (C, from Debian's package) when installed, else the Python httpx client.

    On 2 cores the Python client itself costs about as much CPU as the server, so it measures
    mostly itself; wrk leaves the cores to the server. ``SHELFWISE_LOADGEN_ENGINE`` overrides.
    """
    return os.environ.get("SHELFWISE_LOADGEN_ENGINE") or ("wrk" if shutil.which("wrk") else "httpx")


def measure_all(
    url: str,
    key: str,
    scenarios: list[Scenario],
    *,
    concurrency: int = 8,
    duration: float = 5.0,
    warmup: float = 1.0,
    include_health: bool = True,
    engine: str | None = None,
) -> list[Result]:
    """Measure /health (the reference) and then each scenario, one after another."""
    todo = ([Scenario("health", "GET", "/health")] if include_health else []) + scenarios
    if (engine or default_engine()) == "wrk":
        return [_measure_wrk(url, key, sc, concurrency, duration, warmup) for sc in todo]
    return [asyncio.run(_measure(url, key, sc, concurrency, duration, warmup)) for sc in todo]


def _lua_str(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk_script(sc: Scenario, key: str, samples: int = 256) -> str:
    """A wrk Lua script cycling through ``samples`` generated (path, body) pairs of the scenario.

    ``SEQ`` in a body becomes ``<wrk thread>-<request number>``, unique per request, so a body
    can carry ids that must never repeat (a new fraud transaction) although the samples cycle.
    """
    reqs = []
    for i in range(samples):
        body = _resolve(sc.body, i)
        path = _resolve(sc.path, i)
        reqs.append("{" + _lua_str(path) + "," + _lua_str("" if body is None else json.dumps(body)) + "}")
    method = _lua_str(sc.method)
    return "\n".join(
        [
            "local reqs = {" + ",".join(reqs) + "}",
            "local n = 0",
            "local threads = 0",
            "tid = 0",
            "setup = function(thread) threads = threads + 1; thread:set('tid', threads) end",
            "request = function()",
            "  n = n + 1",
            "  local r = reqs[(n % #reqs) + 1]",
            f"  local h = {{['X-API-Key']={_lua_str(key)}, ['Content-Type']='application/json'}}",
            f"  if r[2] == '' then return wrk.format({method}, r[1], h) end",
            f"  local body = string.gsub(r[2], {_lua_str(SEQ)}, tid .. '-' .. n)",
            f"  return wrk.format({method}, r[1], h, body)",
            "end",
            "",
        ]
    )


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)([a-z]+)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[match.group(2)]


def _run_wrk(cmd: list[str], seconds: float) -> str:
    full = [cmd[0], "-d", f"{max(1, round(seconds))}s", *cmd[1:]]
    return subprocess.run(full, capture_output=True, text=True, check=True).stdout


def _measure_wrk(
    url: str, key: str, sc: Scenario, concurrency: int, duration: float, warmup: float
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_wrk_script(sc, key))
    cmd = ["wrk", "-t", "2", "-c", str(concurrency), "--latency", "-s", f.name, url]
    try:
        if warmup > 0:
            _run_wrk(cmd, warmup)
        out = _run_wrk(cmd, duration)
    finally:
        os.unlink(f.name)
    pct = dict(re.findall(r"^\s+(50|75|90|99)(?:\.0+)?%\s+(\S+)\s*$", out, flags=re.M))
    total_match = re.search(r"(\d+) requests in", out)
    rps_match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if total_match is None or rps_match is None or "50" not in pct:
        raise RuntimeError(f"could not parse wrk output:\n{out}")
    bad_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = (int(bad_match.group(1)) if bad_match else 0) + (sum(map(int, errs.groups())) if errs else 0)
    total = int(total_match.group(1))
    statuses = {200: total - bad, 0: bad} if bad else {200: total}
    return Result(
        sc.name,
        total,
        bad,
        _ms(pct["50"]),
        _ms(pct["90"]),
        _ms(pct["99"]),
        float(rps_match.group(1)),
        statuses,
    )


def print_table(results: list[Result], *, title: str | None = None) -> str:
    """Print (and return) a markdown table; throughput is also given as a ratio of /health."""
    ref = next((r.rps for r in results if r.name == "health"), None)
    lines = [f"**{title}**", ""] if title else []
    lines += [
        "| endpoint | requests | errors | p50 ms | p90 ms | p99 ms | req/s | vs /health |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{r.rps / ref:.2f}" if ref else "-"
        lines.append(
            f"| {r.name} | {r.requests} | {r.errors} | {r.p50_ms:.2f} | {r.p90_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.rps:.0f} | {ratio} |"
        )
    text = "\n".join(lines)
    print(text)
    return text


def _parse_scenario(text: str) -> Scenario:
    name, _, rest = text.partition("=")
    method, _, rest = rest.partition(":")
    path, _, body = rest.partition(":")
    if not (name and method and path.startswith("/")):
        raise SystemExit(f"bad --scenario {text!r}; expected NAME=METHOD:/path[:JSON body]")

    def fill(i: int, template: str) -> str:
        return template.replace("{i}", str(i))

    body_fn = (lambda i: json.loads(fill(i, body))) if body else None
    return Scenario(name, method.upper(), lambda i: fill(i, path), body_fn)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-dirs", help='JSON {"family": "dir"}; default: the registry in SHELFWISE_HOME'
    )
    parser.add_argument("--scenario", action="append", default=[], help="NAME=METHOD:/path[:JSON]")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per scenario")
    parser.add_argument(
        "--engine", choices=["wrk", "httpx"], default=None, help="default: wrk when installed"
    )
    args = parser.parse_args(argv)
    dirs = json.loads(args.model_dirs) if args.model_dirs else None
    with running_server(dirs) as (url, key):
        rows = measure_all(
            url,
            key,
            [_parse_scenario(s) for s in args.scenario],
            concurrency=args.concurrency,
            duration=args.duration,
        )
    engine = args.engine or default_engine()
    print_table(rows, title=f"{engine}, concurrency {args.concurrency}, {args.duration:.0f}s per endpoint")


if __name__ == "__main__":
    main()
