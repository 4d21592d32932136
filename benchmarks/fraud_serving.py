"""Serving speed of /v1/fraud/score with the velocity model and a warm online state.

Usage::

    .venv/bin/python benchmarks/fraud_serving.py [DATASETS_DIR] [--duration 10] [--concurrency 8]

Steps: fit ``VelocityFraudModel`` on the Fraud Detection Handbook's training week (see
``benchmarks/fraud_handbook.py``); warm a persisted ``InProcessFraudState`` with every transaction
of July 2018 (about 297k, labels included, answers from the offline scores); start a real uvicorn
(``benchmarks/loadgen.py``) that replays that state at start; drive ``/health`` and then
``/v1/fraud/score`` from this second process (concurrency 8, keep-alive) with new transactions of
known customers and terminals, each a new ``transaction_id`` (so every request computes features,
predicts, explains and records). A second scenario rescores known ids (the idempotent path).
In-process model-call time (features from the state + booster + contributions + record) is
measured too, with the booster's single-row ``predict`` alone for reference.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import fraud_handbook as handbook  # noqa: E402
from benchmarks.loadgen import SEQ, Scenario, measure_all, print_table, running_server  # noqa: E402
from fraud.checks import seconds  # noqa: E402
from fraud.online_state import InProcessFraudState  # noqa: E402
from fraud.velocity import entity_values  # noqa: E402
from fraud.velocity_model import VelocityFraudModel  # noqa: E402
from training.real_data import dataset_path  # noqa: E402

WARM = ("2018-07-01", "2018-08-01")


def warm_state(model: VelocityFraudModel, data, directory: Path) -> InProcessFraudState:
    """Record a month of transactions (and their labels) in a persisted state."""
    month = handbook.between(data, WARM)
    scores = model.predict_proba(month, history=data[data["timestamp"] < WARM[0]])
    decisions = model.decide(scores)
    state = InProcessFraudState(directory)
    cols = model.config_.entities
    for row, score, decision in zip(month.to_dict("records"), scores, decisions, strict=True):
        answer = {"score": float(score), "decision": str(decision), "reasons": [], "rule": None}
        ents = entity_values(row, cols)
        state.record(row["transaction_id"], seconds(row["timestamp"]), row["amount"], ents, answer)
        if row["is_fraud"]:
            state.label(row["transaction_id"], True)
    return state


def model_call_times(model: VelocityFraudModel, state: InProcessFraudState, bodies) -> dict[str, float]:
    """Median in-process time of one ``score`` (new id) and of one booster ``predict``."""
    times = []
    for body in bodies:
        t0 = time.perf_counter()
        model.score(body, state=state)
        times.append(time.perf_counter() - t0)
    row = np.zeros((1, len(model.feature_names_)))
    predict = []
    for _ in range(1000):
        t0 = time.perf_counter()
        model.booster_.predict(row, num_threads=1)
        predict.append(time.perf_counter() - t0)
    return {
        "score_p50_ms": float(np.median(times) * 1000),
        "score_p99_ms": float(np.percentile(times, 99) * 1000),
        "booster_predict_p50_ms": float(np.median(predict) * 1000),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="?", default=None)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    data = handbook.load(dataset_path("fraud-handbook-simulated", args.datasets), "2018-06-01", "2018-08-01")
    model = VelocityFraudModel(entities=handbook.ENTITIES).fit(
        handbook.between(data, handbook.TRAIN), history=data[data["timestamp"] < handbook.TRAIN[0]]
    )
    rng = np.random.default_rng(0)
    customers, terminals = data["customer_id"].unique(), data["terminal_id"].unique()
    ids = itertools.count()

    def new_tx(_: int) -> dict[str, object]:
        n = next(ids)
        return {
            "transaction_id": f"bench-{n}-{SEQ}",
            "timestamp": f"2018-08-01T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}",
            "customer_id": str(customers[rng.integers(len(customers))]),
            "terminal_id": str(terminals[rng.integers(len(terminals))]),
            "amount": float(np.round(rng.lognormal(3.5, 1.0), 2)),
        }

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        state = warm_state(model, data, Path(tmp) / "state")
        warm_s = time.perf_counter() - started
        state.close()
        model_dir = model.save(Path(tmp) / "fraud")
        # No rate limit: the benchmark measures the service, not the per-key quota.
        env = {"SHELFWISE_FRAUD_STATE_DIR": str(Path(tmp) / "state"), "SHELFWISE_RATE_LIMIT_PER_MINUTE": "0"}
        started = time.perf_counter()
        with running_server({"fraud": str(model_dir)}, env=env, ready_timeout=300) as (url, key):
            ready_s = time.perf_counter() - started
            rescore = Scenario(
                "fraud score (known id, idempotent)",
                "POST",
                "/v1/fraud/score",
                body=new_tx(0) | {"transaction_id": "bench-rescored"},
            )
            rows = measure_all(
                url,
                key,
                [Scenario("fraud score (new tx)", "POST", "/v1/fraud/score", body=new_tx), rescore],
                concurrency=args.concurrency,
                duration=args.duration,
            )
        print_table(rows, title=f"concurrency {args.concurrency}, {args.duration:.0f}s per endpoint")
        print("status codes:", {r.name: r.statuses for r in rows})
        local = InProcessFraudState(Path(tmp) / "state")
        calls = model_call_times(model, local, [new_tx(0) for _ in range(2000)])
    print()
    print("| measurement | value |\n|---|---|")
    facts = {
        "warm_transactions": float(len(local)),
        "warm_build_s": warm_s,
        "server_start_with_replay_s": ready_s,
    }
    for key, value in (facts | calls).items():
        print(f"| {key} | {value:.4g} |")


if __name__ == "__main__":
    main()
