"""Cost of the durable event log: write latency with and without it, and replay time at start.

    python benchmarks/eventlog.py --events 1000000 --requests 2000

Prints three tables:

* the median and p99 of ``POST /v1/events`` (in process, through ``TestClient``) with the
  in-memory state and with ``DurableOnlineState`` (``synchronous=NORMAL`` and ``FULL``);
* the same for the state's ``add_events`` call alone (what the log adds, without HTTP);
* the time to open a log of ``--events`` events (trim + replay into memory) and its size.

The log lives in a temporary folder (``--dir`` to put it on the disk you will deploy on).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from models.settings import Settings  # noqa: E402
from serving.app import create_app  # noqa: E402
from serving.model_store import ModelStore  # noqa: E402
from serving.online.eventlog import DurableOnlineState  # noqa: E402
from serving.online.state import Event, InMemoryOnlineState, OnlineState  # noqa: E402

KEY = "eventlog-bench-key-0123456789abcdefghij"

START = datetime(2024, 1, 1, tzinfo=UTC)


def _event(i: int, users: int) -> Event:
    kind = ("view", "view", "add_to_cart", "purchase")[i % 4]
    return Event(f"u{i % users}", f"i{i % 5000}", kind, START + timedelta(seconds=i), f"s{i // 20}")


def _time_calls(call: Callable[[int], None], start: int, n: int) -> list[float]:
    """Milliseconds of ``n`` calls numbered from ``start``."""
    samples = []
    for i in range(start, start + n):
        t0 = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def _stats(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(0.99 * (len(samples) - 1))]


def _states(root: Path) -> dict[str, Callable[[], OnlineState]]:
    return {
        "memory": InMemoryOnlineState,
        "log NORMAL": lambda: DurableOnlineState(root / "normal.db"),
        "log FULL": lambda: DurableOnlineState(root / "full.db", synchronous="FULL"),
    }


def write_latency(root: Path, requests: int, batch: int, rounds: int = 10) -> None:
    """Time the states in alternating rounds, so a load change on the machine hits them all alike."""
    settings = Settings(_env_file=None, api_keys={KEY: ["storefront"]}, rate_limit_per_minute=0)  # type: ignore[call-arg]
    body: dict[str, object] = {
        "events": [
            {"user_id": "u1", "item_id": f"i{j}", "event_type": "view", "timestamp": "2024-01-01T00:00:00Z"}
            for j in range(batch)
        ]
    }
    states = {name: make() for name, make in _states(root).items()}
    clients = {
        name: TestClient(
            create_app(settings, model_store=ModelStore({}), online_state=state), headers={"X-API-Key": KEY}
        )
        for name, state in states.items()
    }
    http: dict[str, list[float]] = {name: [] for name in states}
    direct: dict[str, list[float]] = {name: [] for name in states}
    per_round = max(1, requests // rounds)
    events = [[_event(i * batch + j, 500) for j in range(batch)] for i in range(per_round)]
    for r in range(rounds + 1):  # round 0 warms up
        for name, state in states.items():
            client = clients[name]
            posted = _time_calls(lambda i, c=client: _post(c, body), 0, per_round)  # type: ignore[misc]
            added = _time_calls(lambda i, s=state: s.add_events(events[i]), 0, per_round)  # type: ignore[misc]
            if r:
                http[name] += posted
                direct[name] += added
    print(f"\n{batch} event(s) per request; {per_round * rounds} timed calls per state, {rounds} rounds")
    print("| state | POST /v1/events median ms | p99 ms | add_events median ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name, state in states.items():
        (hm, hp), (dm, dp) = _stats(http[name]), _stats(direct[name])
        print(f"| {name} | {hm:.3f} | {hp:.3f} | {dm:.3f} | {dp:.3f} |")
        if isinstance(state, DurableOnlineState):
            state.close()


def _post(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/v1/events", json=body)
    assert response.status_code == 202, response.text


def replay_time(root: Path, n_events: int, users: int) -> None:
    path = root / "replay.db"
    state = DurableOnlineState(path)
    step = 1000
    for start in range(0, n_events, step):
        state.add_events([_event(i, users) for i in range(start, min(start + step, n_events))])
    state.close()
    size = sum(p.stat().st_size for p in root.glob("replay.db*")) / 1e6
    print("\n| events in log | users | open (trim + replay) s | rows after trim | file MB |")
    print("|---|---|---|---|---|")
    for _ in range(2):  # the first open trims to the per-user cap, the second replays what is left
        t0 = time.perf_counter()
        state = DurableOnlineState(path)
        elapsed = time.perf_counter() - t0
        rows = state._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        state.close()
        print(f"| {n_events} | {users} | {elapsed:.2f} | {rows} | {size:.0f} |")
        n_events = rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the replayed log")
    parser.add_argument("--users", type=int, default=10_000, help="distinct users in the replayed log")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per state")
    parser.add_argument("--batch", type=int, default=1, help="events per request")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the logs (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        write_latency(Path(tmp), args.requests, args.batch)
        replay_time(Path(tmp), args.events, args.users)


if __name__ == "__main__":
    main()
