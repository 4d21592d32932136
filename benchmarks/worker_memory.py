"""Memory of ``--workers 2`` against one worker, serving the 54k-product search model, old vs new code.

Usage::

    .venv/bin/python benchmarks/worker_memory.py [--baseline-ref REF] [--work DIR]

Uses the search artifact ``benchmarks/capacity.py`` builds under ``--work`` (run that first).
For each code version (``REF`` as a ``git archive`` snapshot, then this checkout) it starts
uvicorn with one worker, then with two (``benchmarks/loadgen.py``; the shared state in Redis,
``--state-url``), sends 400 searches so every worker has answered, and reads each worker's
``/proc/<pid>/smaps_rollup``: RSS, PSS (shared pages split between the processes that map them)
and private dirty memory (never shareable). "Second worker adds" is the PSS of two workers minus
the PSS of one, over
one worker's RSS: what a second process costs the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def smaps(pid: int) -> dict[str, float]:
    """MB of Rss, Pss and private pages of one process."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        out[name] = int(value.split()[0]) / 1024
    return {"rss": out["Rss"], "pss": out["Pss"], "private_dirty": out["Private_Dirty"]}


def workers_of(pid: int) -> list[int]:
    """The uvicorn worker processes (spawned children of the supervisor), or the server itself."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    kids = [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    return kids or [pid]


def measure(work: Path, state_url: str) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(ROOT))
    import httpx

    from benchmarks.loadgen import running_server

    queries = json.loads((work / "search_queries.json").read_text())["test"][:400]
    result = {}
    for n in (1, 2):
        env = {"SHELFWISE_STATE_URL": state_url} if n > 1 else {}
        with running_server(
            {"search": str(work / "search")}, env=env, workers=n, ready_timeout=300
        ) as served:
            url, key = served
            with httpx.Client(headers={"X-API-Key": key}, timeout=30) as client:
                for q in queries:
                    assert client.post(f"{url}/v1/search", json={"query": q}).status_code == 200
            procs = [smaps(p) for p in workers_of(served.pid)]
        result[f"{n} worker(s)"] = {k: sum(p[k] for p in procs) for k in ("rss", "pss", "private_dirty")}
        result[f"{n} worker(s)"]["processes"] = len(procs)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-ref", default="HEAD")
    parser.add_argument("--repo", default=str(ROOT))
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "shelfwise-capacity"))
    parser.add_argument("--state-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.work), args.state_url)))
        return
    sys.path.insert(0, str(ROOT))
    from benchmarks.capacity import snapshot

    rows = {}
    with tempfile.TemporaryDirectory(prefix="shelfwise-baseline-") as tmp:
        old = snapshot(Path(args.repo), args.baseline_ref, Path(tmp) / "code")
        for label, code in ((f"old ({args.baseline_ref})", old), ("new", ROOT)):
            env = {**os.environ, "PYTHONPATH": str(code)}
            script = code / "benchmarks" / "worker_memory.py"
            if code != ROOT:
                script.write_text((ROOT / "benchmarks" / "worker_memory.py").read_text())
            cmd = [
                sys.executable,
                str(script),
                "--measure",
                "--work",
                args.work,
                "--state-url",
                args.state_url,
            ]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=code)
            rows[label] = json.loads(out.stdout.strip().splitlines()[-1])
    print("\n| code | 1 worker RSS MB | 2 workers RSS MB | 2 workers PSS MB | 1 worker PSS MB | "
          "second worker adds (PSS, / 1 worker's RSS) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in rows.items():
        one, two = r["1 worker(s)"], r["2 worker(s)"]
        added = two["pss"] - one["pss"]
        print(
            f"| {label} | {one['rss']:.0f} | {two['rss']:.0f} | {two['pss']:.0f} | {one['pss']:.0f} | "
            f"{added:.0f} MB ({added / one['rss']:.0%}) |"
        )


if __name__ == "__main__":
    main()
