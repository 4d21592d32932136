"""Latency of the online-state calls a request makes: in process vs the shared Redis state.

Measures, in this process, the median and p99 microseconds of ``user_history`` and
``add_events`` (one event) and of the fraud state's ``history`` (one entity value) and
``record`` (one transaction, three entities), for ``InMemoryOnlineState`` /
``InProcessFraudState`` and ``RedisOnlineState`` / ``RedisFraudState``. Users and entities are
pre-filled so a read returns a realistic history. Runs in its own namespace, deleted at the end.

    python benchmarks/redis_state_latency.py --redis redis://127.0.0.1:6379/0 --n 2000
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import redis

from fraud.online_state import FraudState, InProcessFraudState
from fraud.redis_state import RedisFraudState
from serving.online.redis_state import RedisOnlineState
from serving.online.state import Event, InMemoryOnlineState, OnlineState
from storage.redis import delete_namespace

T0 = datetime(2026, 11, 1, tzinfo=UTC)
Row = tuple[str, str, float, float]


def _time(call: Callable[[int], object], n: int) -> tuple[float, float]:
    """Median and p99 of ``n`` calls, microseconds (after 50 warm-up calls)."""
    for i in range(50):
        call(-1 - i)
    out = np.empty(n)
    for i in range(n):
        start = time.perf_counter_ns()
        call(i)
        out[i] = (time.perf_counter_ns() - start) / 1e3
    return float(np.median(out)), float(np.percentile(out, 99))


def _events(user: str, n: int, offset: int = 0) -> list[Event]:
    kinds = ("view", "add_to_cart", "purchase")
    return [
        Event(user, f"i{(j * 7) % 500}", kinds[j % 3], T0 + timedelta(seconds=offset + j)) for j in range(n)
    ]


def _ents(i: int) -> dict[str, str | None]:
    return {"customer_id": f"c{i % 100}", "terminal_id": f"t{i % 50}", "device_id": f"d{i % 300}"}


def _online_rows(name: str, state: OnlineState, n: int, history_len: int) -> list[Row]:
    for u in range(100):
        state.add_events(_events(f"u{u}", history_len))
    rows = [
        (f"user_history ({history_len} events)", name, *_time(lambda i: state.user_history(f"u{i % 100}"), n))
    ]
    rows.append(
        ("add_events (1 event)", name, *_time(lambda i: state.add_events(_events(f"w{i % 100}", 1, i)), n))
    )
    return rows


def _fraud_rows(name: str, state: FraudState, n: int, history_len: int) -> list[Row]:
    t0, pre = T0.timestamp(), history_len * 100  # about history_len entries per customer
    for i in range(pre):
        state.record(f"p{i}", t0 + 60.0 * i, 10.0 + i % 90, _ents(i), {"score": 0.1})

    def record(i: int) -> None:
        answer = {"score": 0.2, "decision": "approve"}
        state.record(f"x{i}", t0 + 60.0 * (pre + i), 42.0, _ents(i), answer)

    rows = [
        (
            f"fraud history (~{history_len} entries)",
            name,
            *_time(lambda i: state.history("customer_id", f"c{i % 100}"), n),
        )
    ]
    rows.append(("fraud record (3 entities)", name, *_time(record, n)))
    return rows


def run(url: str, n: int, history_len: int) -> list[Row]:
    """Rows ``(call, backend, median_us, p99_us)``."""
    client = redis.Redis.from_url(url, decode_responses=True)
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        rows = _online_rows("in-process", InMemoryOnlineState(), n, history_len)
        rows += _online_rows("redis", RedisOnlineState(client, namespace=namespace), n, history_len)
        rows += _fraud_rows("in-process", InProcessFraudState(), n, history_len)
        rows += _fraud_rows("redis", RedisFraudState(client, namespace=namespace), n, history_len)
    finally:
        delete_namespace(client, namespace)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--n", type=int, default=2000, help="timed calls per row")
    parser.add_argument("--history-len", type=int, default=50, help="events per user / entries per entity")
    args = parser.parse_args()
    rows = run(args.redis, args.n, args.history_len)
    print("| call | backend | median µs | p99 µs |\n|---|---|---:|---:|")
    for call, backend, med, p99 in rows:
        print(f"| {call} | {backend} | {med:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
