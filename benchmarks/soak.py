"""Soak: minutes of mixed storefront load at a fixed rate against one uvicorn serving all four families.

Builds the small demo store, trains a model per family (``--models jobs``: each family's training
job, reused from ``--work`` when already there; ``--models quick``: the baseline classes, seconds)
and serves all four from one ``uvicorn`` process (``SHELFWISE_MODEL_DIRS``). For ``--duration``
seconds it sends a mixed workload on an open-loop schedule: request ``n`` is due at ``n / rate``
whether or not earlier ones have answered, at most ``--concurrency`` in flight (keep-alive httpx).
Latency is counted from the due time, so a stalled server or client shows up instead of being
hidden by a slower send rate. "Service" latency runs from send to answer; "in-app" is the server's
own handler time (``/metrics``), so service minus in-app is time outside the handlers (queues,
CPU starvation, the client). The server's RSS (``/proc/<pid>/status`` VmRSS), its CPU time and
the machine's load average are sampled every 5 s. It prints a table per window (default a minute)
and a verdict: non-2xx answers (target 0), p99 of the last window over the first (target <= 1.5),
RSS growth from the end of the first window, after warm-up, to the end (target < 10 %). The
workload itself is in ``benchmarks/soak_workload.py``::

    nice -n 5 .venv/bin/python benchmarks/soak.py --work /tmp/soak --duration 600 --out soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.loadgen import running_server  # noqa: E402
from benchmarks.soak_state import STATE_COLUMNS, disk_mb, state_at, state_lines, state_verdict  # noqa: E402
from benchmarks.soak_workload import MIX, Request, Sample, build_models, make_request  # noqa: E402

TARGET_P99_RATIO = 1.5
TARGET_RSS_GROWTH = 0.10


@dataclass
class Soak:
    """What one run saw: one row per request, one per resource probe, sample failures."""

    kinds: list[str]
    rate: float
    duration: float
    concurrency: int
    due: list[float] = field(default_factory=list)  # seconds from start the request was due
    kind: list[int] = field(default_factory=list)
    status: list[int] = field(default_factory=list)  # 0: transport error
    latency_ms: list[float] = field(default_factory=list)  # due time -> answer
    service_ms: list[float] = field(default_factory=list)  # sent -> answer
    # t, RSS MB, server CPU s, load average, server-side request seconds and count (/metrics)
    probes: list[tuple[float, ...]] = field(default_factory=list)
    # t, then the server's shelfwise_state_size parts and the state files' MB on disk
    sizes: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    home: Path | None = None  # the server's SHELFWISE_HOME (state files)
    failures: dict[str, str] = field(default_factory=dict)


def probe(pid: int) -> tuple[float, float, float]:
    """(RSS MB, user + system CPU seconds, 1-minute load average) of process ``pid``."""
    with open(f"/proc/{pid}/status") as f:
        rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss_kb / 1024.0, cpu, os.getloadavg()[0]


async def server_time(client: httpx.AsyncClient) -> tuple[float, float, dict[str, float]]:
    """Seconds spent in the app's handlers and requests counted, over all routes (``/metrics``),
    and the online state's sizes (``shelfwise_state_size{part}``: log rows, users, fraud entities ...).

    One retry on a transport error: a pooled connection idle for uvicorn's 5 s keep-alive can be
    closed by the server just as the sampler (every 5 s) reuses it; that is the probe's race,
    not a failed request of the workload.
    """
    try:
        text = (await client.get("/metrics")).text
    except httpx.TransportError:
        text = (await client.get("/metrics")).text
    total = {"_sum": 0.0, "_count": 0.0}
    sizes: dict[str, float] = {}
    for line in text.splitlines():
        for suffix in total:
            if line.startswith("http_request_duration_seconds" + suffix + "{"):
                total[suffix] += float(line.rsplit(" ", 1)[1])
        if line.startswith('shelfwise_state_size{part="'):
            part = line.split('"', 2)[1]
            sizes[part] = float(line.rsplit(" ", 1)[1])
    return total["_sum"], total["_count"], sizes


async def _probe_all(client: httpx.AsyncClient, pid: int, start: float, soak: Soak) -> None:
    t = time.perf_counter() - start
    handler_s, count, sizes = await server_time(client)
    soak.probes.append((t, *probe(pid), handler_s, count))
    soak.sizes.append((t, {**sizes, "disk_mb": disk_mb(soak.home)}))


async def _sampler(
    client: httpx.AsyncClient, pid: int, start: float, every: float, soak: Soak, stop: asyncio.Event
) -> None:
    while True:
        await _probe_all(client, pid, start, soak)
        try:
            await asyncio.wait_for(stop.wait(), every)
            await _probe_all(client, pid, start, soak)
            return
        except TimeoutError:
            pass


async def _send(
    client: httpx.AsyncClient,
    soak: Soak,
    sem: asyncio.Semaphore,
    k: int,
    due: float,
    start: float,
    req: Request,
) -> None:
    """Send one request (its slot in ``sem`` is already taken) and record it."""
    method, path, body, params = req
    sent = time.perf_counter()
    try:
        r = await client.request(method, path, json=body, params=params)
        code, text = r.status_code, r.text
    except httpx.HTTPError as exc:
        code, text = 0, f"{type(exc).__name__}: {exc}"
    finally:
        sem.release()
    done = time.perf_counter()
    soak.due.append(due - start)
    soak.kind.append(k)
    soak.status.append(code)
    soak.latency_ms.append((done - due) * 1000.0)
    soak.service_ms.append((done - sent) * 1000.0)
    if not 200 <= code < 300:
        soak.failures.setdefault(f"{soak.kinds[k]} {code}", f"{method} {path} {body} -> {text[:300]}")


async def drive(url: str, key: str, pid: int, sample: Sample, soak: Soak, *, seed: int = 0) -> None:
    """Send ``rate`` requests a second for ``duration`` seconds, open loop, recording each one."""
    rng = random.Random(seed)
    weights = [MIX[kind] for kind in soak.kinds]
    sem = asyncio.Semaphore(soak.concurrency)
    limits = httpx.Limits(max_connections=soak.concurrency, max_keepalive_connections=soak.concurrency)
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30, headers=headers) as client:
        await _warm_up(client, sample, rng)
        stop = asyncio.Event()
        start = time.perf_counter()
        sampler = asyncio.create_task(_sampler(client, pid, start, 5.0, soak, stop))
        pending: set[asyncio.Task[None]] = set()
        for n in range(int(soak.rate * soak.duration)):
            due = start + n / soak.rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            k = rng.choices(range(len(soak.kinds)), weights=weights)[0]
            req = make_request(soak.kinds[k], n, sample, rng)
            await sem.acquire()  # waiting here is counted: latency runs from ``due``
            task = asyncio.create_task(_send(client, soak, sem, k, due, start, req))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        stop.set()
        await sampler


async def _warm_up(client: httpx.AsyncClient, sample: Sample, rng: random.Random) -> None:
    """One request of each kind, not recorded: lazy imports and first-call caches."""
    for kind in MIX:
        method, path, body, params = make_request(kind, 0, sample, rng)
        await client.request(method, path, json=body, params=params)


def summarize(soak: Soak, window: float) -> list[dict[str, float]]:
    """Per ``window`` seconds (by due time): requests, errors, latency percentiles, RSS, CPU, load."""
    due = np.asarray(soak.due)
    status = np.asarray(soak.status)
    lat = np.asarray(soak.latency_ms)
    svc = np.asarray(soak.service_ms)
    probes = np.asarray(soak.probes).reshape(-1, 6)
    rows = []
    for w in range(max(1, int(np.ceil(soak.duration / window - 1e-9)))):
        lo, hi = w * window, min((w + 1) * window, soak.duration)
        sel = (due >= lo) & (due < hi)
        before = probes[probes[:, 0] <= lo] if w else probes[:1]
        upto = probes[probes[:, 0] <= hi + 1.0]  # the probe taken at the window's end, give or take
        last = upto[-1] if len(upto) else probes[0]
        first = before[-1] if len(before) else probes[0]
        span = max(last[0] - first[0], 1e-9)
        p50, p99 = np.percentile(lat[sel], [50, 99]) if sel.any() else (np.nan, np.nan)
        rows.append(
            {
                "window": w + 1,
                "start_s": lo,
                "requests": int(sel.sum()),
                "errors": int(((status[sel] < 200) | (status[sel] >= 300)).sum()),
                "errors_5xx": int((status[sel] >= 500).sum()),
                "p50_ms": float(p50),
                "p99_ms": float(p99),
                "service_p99_ms": float(np.percentile(svc[sel], 99)) if sel.any() else float("nan"),
                "rss_mb": float(last[1]),
                "server_cpu_pct": float(100.0 * (last[2] - first[2]) / span),
                "load_1m": float(last[3]),
                "server_mean_ms": float(1000.0 * (last[4] - first[4]) / max(last[5] - first[5], 1.0)),
                **(state_at(soak.sizes, hi) if soak.sizes else {}),
            }
        )
    return rows


def verdict(soak: Soak, windows: list[dict[str, float]]) -> dict[str, Any]:
    """Errors, p99 drift and RSS growth against the soak targets."""
    status = np.asarray(soak.status)
    first, last = windows[0], windows[-1]
    ratio = last["p99_ms"] / first["p99_ms"]
    growth = (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"]
    errors = int(((status < 200) | (status >= 300)).sum())
    return {
        "requests": len(status),
        "achieved_rps": len(status) / soak.duration,
        "errors": errors,
        "errors_5xx": int((status >= 500).sum()),
        "transport_errors": int((status == 0).sum()),
        "p99_ratio": ratio,
        "p99_spread": max(w["p99_ms"] for w in windows) / min(w["p99_ms"] for w in windows),
        "rss_start_mb": first["rss_mb"],
        "rss_end_mb": last["rss_mb"],
        "rss_growth": growth,
        "by_kind": _by_kind(soak),
        "pass": {
            "errors": errors == 0,
            "p99_ratio": bool(ratio <= TARGET_P99_RATIO),
            "rss_growth": bool(growth < TARGET_RSS_GROWTH),
        },
        "failures": soak.failures,
    }


def _by_kind(soak: Soak) -> dict[str, dict[str, float]]:
    kind, svc, status = np.asarray(soak.kind), np.asarray(soak.service_ms), np.asarray(soak.status)
    out = {}
    for i, name in enumerate(soak.kinds):
        sel = kind == i
        p50, p99 = np.percentile(svc[sel], [50, 99]) if sel.any() else (np.nan, np.nan)
        bad = int(((status[sel] < 200) | (status[sel] >= 300)).sum())
        out[name] = {
            "requests": int(sel.sum()),
            "errors": bad,
            "service_p50_ms": float(p50),
            "service_p99_ms": float(p99),
        }
    return out


def report(windows: list[dict[str, float]], result: dict[str, Any], window: float) -> str:
    """The per-window markdown table and the verdict block."""
    state_cols = [c for c in STATE_COLUMNS if c in windows[0]]
    lines = [
        f"| {window:g}s window | requests | errors | p50 ms | p99 ms | service p99 ms | in-app mean ms "
        "| RSS MB | server CPU % | load 1m |" + "".join(f" {c} |" for c in state_cols),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(state_cols),
    ]
    for r in windows:
        lines.append(
            f"| {r['window']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['service_p99_ms']:.1f} | {r['server_mean_ms']:.1f} | {r['rss_mb']:.1f} "
            f"| {r['server_cpu_pct']:.0f} "
            f"| {r['load_1m']:.2f} |"
            + "".join(f" {r[c]:.1f} |" if c == "state MB" else f" {r[c]:.0f} |" for c in state_cols)
        )
    ok = result["pass"]
    mark = {True: "PASS", False: "MISS"}
    lines += [
        "",
        f"- requests: {result['requests']} ({result['achieved_rps']:.1f}/s); per kind, service p50/p99 ms: "
        + ", ".join(
            f"{k} {v['requests']} ({v['service_p50_ms']:.1f}/{v['service_p99_ms']:.1f})"
            for k, v in result["by_kind"].items()
        ),
        f"- errors (non-2xx or transport): {result['errors']}, of which 5xx {result['errors_5xx']} "
        f"and transport {result['transport_errors']} -> {mark[ok['errors']]} (target 0)",
        f"- p99 last window / first window: {result['p99_ratio']:.2f} -> {mark[ok['p99_ratio']]} "
        f"(target <= {TARGET_P99_RATIO}); slowest window's p99 / fastest's: {result['p99_spread']:.2f}",
        f"- RSS {result['rss_start_mb']:.1f} MB (end of window 1) -> {result['rss_end_mb']:.1f} MB: "
        f"{100 * result['rss_growth']:+.1f} % -> {mark[ok['rss_growth']]} (target < 10 %)",
    ]
    if state := result.get("state"):
        lines += state_lines(state, mark)
    lines += [f"- failure sample: {k}: {v}" for k, v in list(result["failures"].items())[:10]]
    return "\n".join(lines)


def run_soak(
    model_dirs: dict[str, str],
    store_dir: Path,
    *,
    rate: float = 100.0,
    duration: float = 600.0,
    concurrency: int = 16,
    window: float = 60.0,
    seed: int = 0,
    retention_s: float | None = None,
    trim_s: float | None = None,
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Serve ``model_dirs`` in one uvicorn, soak it; return (per-window rows, verdict).

    ``retention_s`` and ``trim_s`` set the server's state retention and trim interval
    (``SHELFWISE_STATE_RETENTION_DAYS``, ``SHELFWISE_STATE_TRIM_INTERVAL_S``), so that a run of
    minutes shows the state sizes level off as they would over days with the defaults.
    """
    sample = Sample.from_store(store_dir, seed=seed)
    soak = Soak(kinds=list(MIX), rate=rate, duration=duration, concurrency=concurrency)
    env = {"SHELFWISE_LOG_LEVEL": "warning", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if retention_s is not None:
        env["SHELFWISE_STATE_RETENTION_DAYS"] = repr(retention_s / 86400.0)
    if trim_s is not None:
        env["SHELFWISE_STATE_TRIM_INTERVAL_S"] = repr(trim_s)
    with tempfile.TemporaryDirectory(prefix="shelfwise-soak-home-") as home:
        env["SHELFWISE_HOME"] = soak_home = home
        soak.home = Path(soak_home)
        with running_server(model_dirs, env=env, ready_timeout=300) as served:
            url, key = served
            asyncio.run(drive(url, key, served.pid, sample, soak, seed=seed))
    windows = summarize(soak, window)
    result = verdict(soak, windows)
    result["state"] = state_verdict(soak.sizes, soak.duration, retention_s, trim_s)
    return windows, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (open loop)")
    parser.add_argument("--concurrency", type=int, default=16, help="most requests in flight")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per table row")
    parser.add_argument("--models", choices=["jobs", "quick"], default="jobs")
    parser.add_argument("--work", help="keep the demo store and models here and reuse them")
    parser.add_argument("--out", help="write the per-window rows and the verdict as JSON here")
    parser.add_argument("--retention-s", type=float, help="the server's state retention, in seconds")
    parser.add_argument("--trim-s", type=float, help="the server's event-log trim interval, in seconds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="shelfwise-soak-") as tmp:
        work = Path(args.work or tmp)
        dirs = build_models(work, quick=args.models == "quick")
        load_before = os.getloadavg()
        windows, result = run_soak(
            dirs,
            work / "store",
            rate=args.rate,
            duration=args.duration,
            concurrency=args.concurrency,
            window=args.window,
            retention_s=args.retention_s,
            trim_s=args.trim_s,
        )
    result["load_before"], result["load_after"] = load_before, os.getloadavg()
    print(
        f"**Soak: {args.rate:g} req/s open loop for {args.duration:g}s, concurrency {args.concurrency}, "
        f"{args.models} models; load average before {load_before[0]:.2f}, "
        f"after {result['load_after'][0]:.2f}**\n"
    )
    print(report(windows, result, args.window))
    if args.out:
        Path(args.out).write_text(
            json.dumps({"config": vars(args), "windows": windows, "verdict": result}, indent=2)
        )
    return 0 if all(result["pass"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
