"""Fuzz the served API with schemathesis: generated requests to every operation, valid keys.

Counts what matters to an operator: responses with status 5xx (must be 0) and 4xx answers that
are not ``application/problem+json`` (must be 0). Requests come from the served OpenAPI document
(schemathesis' Python API, in process through ASGI), in both of schemathesis' generation modes:
``positive`` (schema-valid data) and ``negative`` (data the schema forbids).

Without ``--model-dirs`` it generates the small demo store, trains each family's current job on
it and serves those models (a family whose training fails is reported and served as missing)::

    .venv/bin/python benchmarks/fuzz_api.py --examples 150
    .venv/bin/python benchmarks/fuzz_api.py --model-dirs '{"recsys": "DIR", ...}' --examples 20

Schemathesis' pytest plugin does not run under pytest 9, so Hypothesis drives its strategies.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY = "fuzz-key-0123456789abcdefghij"
PROBLEM_JSON = "application/problem+json"


@dataclass
class FuzzReport:
    """What the fuzzer saw.

    Attributes:
        requests: requests sent.
        with_key: requests that carried the valid key (negative cases may drop it on purpose).
        statuses: count per status code.
        per_operation: requests per ``METHOD /path``.
        server_errors: one sample request per (operation, status) that got a 5xx.
        not_problem: one sample per operation whose 4xx was not problem+json.
        conformance: schemathesis check failures on positive cases (documented status codes,
            content types, response schemas), by check name.
        seconds: wall time of the fuzzing (without training).
    """

    requests: int = 0
    with_key: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    server_errors: dict[str, str] = field(default_factory=dict)
    not_problem: dict[str, str] = field(default_factory=dict)
    conformance: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def count_5xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)

    @property
    def count_4xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if 400 <= code < 500)


def train_demo_models(out: Path, *, seed: int = 0) -> tuple[dict[str, str], dict[str, str]]:
    """Train every family's job on the small demo store; return ({family: dir}, {family: error})."""
    from threadpoolctl import threadpool_limits

    from models.families import TABLE
    from training.data import load_store
    from training.demo import generate_store

    data = out / "store"
    generate_store(data, seed=seed, scale="small")
    store = load_store(data)
    dirs: dict[str, str] = {}
    errors: dict[str, str] = {}
    for family, spec in TABLE.items():
        started = time.perf_counter()
        try:
            job = __import__(spec.job, fromlist=["train"])
            with threadpool_limits(1, "blas"):
                result = job.train(store, seed=seed)
            dirs[family] = str(result.model.save(out / family))
            print(f"trained {family} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - report the family, fuzz the others
            errors[family] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
    return dirs, errors


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type") or ""
    return str(value[0] if isinstance(value, list | tuple) and value else value)


def _describe(case: Any, status: int, body: str) -> str:
    payload = json.dumps(case.body, default=str)[:600] if case.body is not None else ""
    return f"{case.method} {case.formatted_path} query={case.query} body={payload} -> {status} {body[:300]}"


def _checker(report: FuzzReport, name: str, headers: dict[str, str], *, positive: bool) -> Any:
    """The per-case body: send it, count the status, keep a sample of every kind of failure."""
    from schemathesis.checks import positive_data_acceptance

    def check(case: Any) -> None:
        response = case.call(headers=headers)
        status = response.status_code
        report.requests += 1
        report.with_key += response.request.headers.get("x-api-key") == KEY
        report.statuses[status] += 1
        report.per_operation[name] += 1
        if status >= 500:
            report.server_errors.setdefault(f"{name} {status}", _describe(case, status, response.text))
        elif status >= 400 and not _content_type(response).startswith(PROBLEM_JSON):
            report.not_problem.setdefault(name, _describe(case, status, response.text))
        if positive and status < 500:
            try:
                # Rules a static schema cannot state (a horizon over the model's maximum, an
                # unknown id) make valid-looking data get a 4xx: that is not a failure here.
                case.validate_response(response, excluded_checks=[positive_data_acceptance])
            except Exception as exc:  # noqa: BLE001 - count by check, keep fuzzing
                report.conformance[type(exc).__name__ + ": " + str(exc).splitlines()[0][:120]] += 1

    return check


def fuzz(app: Any, *, examples: int, seed: int = 0) -> FuzzReport:
    """Run ``examples`` generated cases per operation and per generation mode against ``app``."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hyp_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    report = FuzzReport()
    headers = {"X-API-Key": KEY}
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation raises here
        name = f"{operation.method.upper()} {operation.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            check = _checker(report, name, headers, positive=mode is GenerationMode.POSITIVE)
            run = given(case=operation.as_strategy(generation_mode=mode))(check)
            run = settings(
                max_examples=examples,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            )(run)
            try:
                hyp_seed(seed)(run)()
            except Unsatisfiable:  # no parameters to break (GET /health has no negative cases)
                pass
    report.seconds = time.perf_counter() - started
    return report


STATES = ("memory", "sqlite", "redis")
REDIS_URL = "redis://127.0.0.1:6379/0"


def build_app(model_dirs: dict[str, str], state: str = "memory", work: Path | None = None) -> Any:
    """The production app on ``model_dirs`` with one all-scope key and no rate limit.

    ``state`` picks the deployment mode's online state: ``memory``, ``sqlite`` (the durable event
    log and fraud journal under ``work``, what ``shelfwise serve`` runs) or ``redis`` (a fresh
    namespace on ``REDIS_URL``, what replicas run).
    """
    import uuid

    from models.settings import SCOPES, Settings
    from serving.app import create_app
    from serving.model_store import ModelStore
    from serving.online.eventlog import DurableOnlineState

    keys: dict[str, Any] = {KEY: list(SCOPES)}
    url = f"{REDIS_URL}?namespace=fuzz-{uuid.uuid4().hex[:8]}" if state == "redis" else None
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, api_keys=keys, rate_limit_per_minute=0, families=sorted(model_dirs), state_url=url
    )
    store = ModelStore.from_dirs(model_dirs, families=settings.families)
    for family, entry in store.entries().items():
        if entry.status != "loaded":
            print(f"WARNING {family}: {entry.status}: {entry.reason}", file=sys.stderr)
    if state == "sqlite":
        assert work is not None
        folder = Path(tempfile.mkdtemp(prefix="state-", dir=work))
        online = DurableOnlineState(folder / "events.db")
        return create_app(settings, model_store=store, online_state=online, fraud_state_dir=folder)
    return create_app(settings, model_store=store)


def print_report(report: FuzzReport, training_errors: dict[str, str] | None = None) -> str:
    """Markdown summary: totals, per-operation counts, and every failing sample."""
    lines = [
        f"**{report.requests} generated requests ({report.with_key} with the valid key; schemathesis' "
        f"negative mode drops it from the others) in {report.seconds:.0f}s: "
        f"{report.count_5xx} with status 5xx, {len(report.not_problem)} operations with a 4xx "
        "that is not problem+json**",
        "",
        "| status | responses |",
        "|---:|---:|",
        *(f"| {code} | {n} |" for code, n in sorted(report.statuses.items())),
        "",
        "| operation | requests |",
        "|---|---:|",
        *(f"| `{op}` | {n} |" for op, n in sorted(report.per_operation.items())),
    ]
    for title, samples in (("5xx", report.server_errors), ("4xx not problem+json", report.not_problem)):
        if samples:
            lines += ["", f"{title}:", *(f"- {sample}" for sample in samples.values())]
    if report.conformance:
        lines += ["", "schemathesis conformance failures (positive cases):"]
        lines += [f"- {n} x {what}" for what, n in report.conformance.most_common()]
    if training_errors:
        lines += ["", "families not trained:", *(f"- {f}: {e}" for f, e in training_errors.items())]
    text = "\n".join(lines)
    print(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dirs", help='JSON {"family": "dir"}; default: train on the demo store')
    parser.add_argument("--examples", type=int, default=150, help="cases per operation and mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", help="keep the demo store and trained models here and reuse them")
    parser.add_argument(
        "--state", choices=[*STATES, "all"], default="memory", help="online state (deployment mode)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="shelfwise-fuzz-") as tmp:
        work = Path(args.work or tmp)
        families = ("recsys", "search", "fraud", "forecasting")
        if args.model_dirs:
            dirs = json.loads(args.model_dirs)
        elif all((work / f / "meta.json").is_file() for f in families):
            dirs = {f: str(work / f) for f in families}  # trained by an earlier run with --work
        else:
            dirs, errors = train_demo_models(work, seed=args.seed)
        failed = False
        for state in STATES if args.state == "all" else (args.state,):
            print(f"\n### online state: {state}\n")
            report = fuzz(build_app(dirs, state, work), examples=args.examples, seed=args.seed)
            print_report(report, errors)
            failed = failed or bool(report.count_5xx or report.not_problem)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
