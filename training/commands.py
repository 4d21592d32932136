"""What `shelfwise train` and `shelfwise demo` do, step by step (the CLI stays a thin shell over these)."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.table import Table

from models.errors import InvalidInputError
from models.keys import KEYS_FILE, new_key, read_keys, write_keys
from models.settings import Settings
from training.pipeline import DEFAULT_SEED, FamilyRun, inputs_of, resolve_families, train_family
from training.progress import reporting_to
from training.store import StoreData

DEMO_KEYS_FILE = KEYS_FILE


def train_from_folder(
    family: str,
    data: Path,
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    force_promote: bool = False,
    console: Console | None = None,
    dask_scheduler: str | None = None,
    budget_minutes: float | None = None,
) -> list[FamilyRun]:
    """Load + validate the store folder, then train each requested family and print a summary.

    With ``dask_scheduler`` (default ``settings.dask_scheduler``) the families are fitted as tasks
    on that Dask cluster and logged/registered here (``training.dask_runner``); else in this process.
    ``budget_minutes`` bounds each family's settings search (default ``settings.tune_budget_minutes``;
    0 trains the defaults without a search).
    """
    budget = settings.tune_budget_minutes if budget_minutes is None else budget_minutes
    budget_s = max(0.0, float(budget)) * 60
    from training.data import load_store

    console = console or Console()
    families = resolve_families(family)
    needed = inputs_of(families)
    with console.status(f"Loading and validating {data} ..."):
        store = load_store(data, only=needed)
    for name, notes in store.report.items():
        for note in notes:
            console.print(f"  [yellow]{name}:[/yellow] {note}")
    scheduler = dask_scheduler or settings.dask_scheduler
    if scheduler:
        outcomes = _train_on_dask(
            families, data, store, needed, settings, scheduler, seed, force_promote, console, budget_s
        )
    else:
        outcomes = []
        for fam in families:
            with console.status(f"Training {fam} ...") as status, reporting_to(_stage_line(status, fam)):
                outcome = train_family(
                    fam, store, settings, seed=seed, force_promote=force_promote, budget_s=budget_s
                )
            outcomes.append(outcome)
            _print_outcome(console, outcome)
    _print_summary(console, outcomes, settings)
    return outcomes


def _stage_line(status: Any, family: str) -> Callable[[str, float | None], None]:
    """A progress listener that shows the family's stage, time so far and estimate on ``status``."""
    start = time.perf_counter()

    def show(name: str, estimate_s: float | None) -> None:
        took = time.perf_counter() - start
        about = f", about {estimate_s / 60:.1f} min" if estimate_s else ""
        status.update(f"Training {family}: {name}{about} ({took:.0f}s so far)")

    return show


def _train_on_dask(
    families: list[str],
    data: Path,
    store: StoreData,
    needed: list[str],
    settings: Settings,
    scheduler: str,
    seed: int,
    force_promote: bool,
    console: Console,
    budget_s: float,
) -> list[FamilyRun]:
    from training.dask_runner import train_on_dask

    with console.status(f"Training {', '.join(families)} on the Dask cluster at {scheduler} ..."):
        return train_on_dask(
            families,
            data,
            store,
            needed,
            settings,
            scheduler=scheduler,
            seed=seed,
            force_promote=force_promote,
            on_outcome=lambda o: _print_outcome(console, o),
            budget_s=budget_s,
        )


def _print_outcome(console: Console, o: FamilyRun) -> None:
    if o.status == "skipped":
        console.print(f"[yellow]{o.family}[/yellow] {o.reason}")
        return
    metric = o.primary_metric or ""
    verdict = "promoted to champion" if o.promoted else "registered as challenger"
    console.print(
        f"[green]{o.family}[/green] v{o.version} in {o.seconds:.1f}s: "
        f"{metric}={_with_interval(o.metrics, metric)}, {verdict} ({o.comparison.get('reason', '')})"
    )
    if o.tuning:
        console.print(f"  settings search: {o.tuning}")


def _with_interval(metrics: dict[str, float], metric: str) -> str:
    value = metrics.get(metric)
    if value is None:
        return "-"
    lo, hi = metrics.get(f"{metric}_ci_low"), metrics.get(f"{metric}_ci_high")
    n = metrics.get("n_eval_cases")
    if lo is None or hi is None:
        return f"{value:.4f}"
    return f"{value:.4f} [{lo:.4f}, {hi:.4f}]" + (f" n={n:.0f}" if n is not None else "")


def _print_summary(console: Console, outcomes: list[FamilyRun], settings: Settings) -> None:
    table = Table(
        "family", "version", "champion", "primary metric", "value [95% CI] n", "baseline", "seconds"
    )
    for o in outcomes:
        metric = o.primary_metric or ""
        # The comparison row of the same metric, e.g. baseline_random_ndcg_at_10 for ndcg_at_10.
        base = next(
            (
                f"{v:.4f} ({k})"
                for k, v in o.metrics.items()
                if k.startswith("baseline_") and k.endswith(metric) and metric
            ),
            "-",
        )
        table.add_row(
            o.family,
            o.version or o.status,
            "yes" if o.promoted else "no",
            metric or "-",
            _with_interval(o.metrics, metric),
            base,
            f"{o.seconds:.1f}",
        )
    console.print(table)
    mlflow_cli = Path(sys.executable).with_name("mlflow")  # the one installed beside shelfwise
    console.print(
        f"MLflow: {settings.tracking_uri}  (browse: {mlflow_cli} ui --backend-store-uri "
        f"{settings.tracking_uri} --port 5000)",
        soft_wrap=True,  # one line even when the output is not a terminal: it is copied as is
        highlight=False,
    )


def ensure_demo_data(settings: Settings, *, scale: str, seed: int, console: Console) -> Path:
    """Generate the demo store once per (scale, seed); later runs reuse it."""
    from training.demo import generate_store

    out = settings.home_dir / f"demo-store-{scale}-seed{seed}"
    marker = out / ".complete.json"
    if marker.is_file():
        console.print(f"Reusing the demo store in {out}")
        return out
    start = time.perf_counter()
    with console.status(f"Generating the {scale} demo store (seed {seed}) ..."):
        counts = generate_store(out, seed=seed, scale=scale)
    marker.write_text(json.dumps(counts))
    rows = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    console.print(f"Demo store in {out} ({time.perf_counter() - start:.1f}s): {rows}")
    return out


# One key per role, plus the console's key, which holds every scope (its pages use them all).
ROLES = {
    "storefront": ["storefront"],
    "checkout": ["checkout"],
    "planner": ["planner"],
    "admin": ["admin"],
    "console": ["storefront", "checkout", "planner", "admin"],
}


def demo_keys(settings: Settings, *, rotate: bool = False) -> tuple[dict[str, list[str]], bool]:
    """One API key per role of :data:`ROLES` (named after it), in the keys file under ``SHELFWISE_HOME``.

    Keys already there are kept (a server started earlier may be using them); new ones are made
    only when a role has none, the file is unreadable, or ``rotate`` asks for them. Other keys
    in the file (``shelfwise keys create``) are left alone.

    Returns:
        (``{secret: [scope]}`` of the role keys, whether any was just created).
    """
    path = settings.home_dir / DEMO_KEYS_FILE
    try:
        entries = read_keys(path)
    except (OSError, ValueError):
        entries = {}  # unreadable: replaced below
    created = False
    for role in ROLES:
        mine = [k for k, e in entries.items() if e["name"] == role]
        if mine and not rotate:
            continue
        for key in mine:
            del entries[key]
        secret, entry = new_key(role, ROLES[role])
        entries[secret] = entry
        created = True
    if created or not path.is_file():
        write_keys(path, entries)
    keys = {k: e["scopes"] for k, e in entries.items() if e["name"] in ROLES}
    return keys, created


def fallback_keys_file(settings: Settings) -> Path | None:
    """The demo's keys file, for a server started without ``SHELFWISE_API_KEYS`` (else None)."""
    path = settings.home_dir / DEMO_KEYS_FILE
    return path if not settings.api_keys and path.is_file() else None


def check_port_free(host: str, port: int) -> None:
    """Refuse, before any work, a port that another process (a running server) listens on.

    Raises:
        InvalidInputError: the port is taken; the message says how to pick another.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise InvalidInputError(
                f"Port {port} on {host} is in use ({exc.strerror}): a server (perhaps an earlier "
                "`shelfwise demo`) is running there. Stop it, or pass --port with a free port; "
                "nothing was trained or changed",
                field="port",
                value=port,
            ) from exc


def run_demo(
    settings: Settings,
    *,
    scale: str,
    seed: int,
    port: int,
    serve: bool,
    console: Console,
    new_keys: bool = False,
) -> None:
    """Generate data -> train all four -> register in MLflow -> print keys and curl lines -> serve.

    The port is checked first (a demo already serving there is left alone, nothing retrained),
    and the API keys of an earlier run are reused unless ``new_keys``.
    """
    if serve:
        check_port_free(settings.host, port)
    start = time.perf_counter()
    data = ensure_demo_data(settings, scale=scale, seed=seed, console=console)
    # `seed` is the demo store's data seed; training uses the same default seed as `shelfwise train`.
    outcomes = train_from_folder("all", data, settings, seed=DEFAULT_SEED, console=console)
    keys, created = demo_keys(settings, rotate=new_keys)
    console.print(f"\nDemo pipeline finished in {time.perf_counter() - start:.0f}s.")
    _print_usage(console, keys, port, data, settings, created=created)
    if not serve:
        return
    if not any(o.status == "trained" for o in outcomes):
        console.print("[red]Nothing was trained; not starting the server.[/red]")
        return
    import uvicorn

    os.environ["SHELFWISE_API_KEYS"] = "@" + str(settings.home_dir / DEMO_KEYS_FILE)
    os.environ["SHELFWISE_HOME"] = str(settings.home_dir)
    uvicorn.run(
        "serving.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


def demo_examples(data: Path) -> dict[str, str]:
    """Ids that exist in the demo store, so every printed example shows its feature.

    The busiest shopper (personal recommendations), an in-stock item they viewed (session
    context, similar and bought-together), a word of its title (search and suggestions), a
    customer of the transactions and a series of the sales.
    """
    import pandas as pd

    events = pd.read_parquet(data / "events.parquet", columns=["user_id", "item_id", "event_type"])
    catalog = pd.read_parquet(data / "catalog.parquet", columns=["item_id", "title", "in_stock"])
    user = str(events["user_id"].value_counts().sort_index(kind="stable").idxmax())
    stocked = set(catalog.loc[catalog["in_stock"], "item_id"])
    mine = events[(events["user_id"] == user) & events["item_id"].isin(stocked)]
    item = str(mine["item_id"].iloc[-1]) if len(mine) else str(sorted(stocked)[0])
    title = str(catalog.set_index("item_id").at[item, "title"])
    words = [w for w in title.split() if w.isalpha() and len(w) > 3]
    customer = pd.read_parquet(data / "transactions.parquet", columns=["customer_id"])["customer_id"]
    sale = pd.read_parquet(data / "sales.parquet", columns=["item_id", "store_id"]).iloc[0]
    return {
        "user": user,
        "item": item,
        "query": " ".join(words[-2:]).lower() or title.lower(),
        "prefix": (words[-1] if words else title)[:3].lower(),
        "customer": str(customer.iloc[0]),
        "series_item": str(sale["item_id"]),
        "series_store": str(sale["store_id"]),
    }


def _print_usage(
    console: Console, keys: dict[str, list[str]], port: int, data: Path, settings: Settings, *, created: bool
) -> None:
    by_role = {r: k for k, scopes in keys.items() for r, want in ROLES.items() if set(scopes) == set(want)}
    ex = demo_examples(data)
    user, item, query, prefix, customer = (ex[k] for k in ("user", "item", "query", "prefix", "customer"))
    url = f"http://{settings.host}:{port}"
    sf, co, pl, ad = (by_role[r] for r in ("storefront", "checkout", "planner", "admin"))
    where = settings.home_dir / DEMO_KEYS_FILE
    state = "new" if created else "the same as before; `shelfwise demo --new-keys` makes new ones"
    console.print(f"\nAPI keys ({state}; stored in {where}):")
    for role, key in by_role.items():
        console.print(f"  {role:<11} {key}")
    lines = [
        f"curl -s {url}/ready",
        f"curl -s -H 'X-API-Key: {sf}' -H 'Content-Type: application/json' {url}/v1/recommendations "
        f'-d \'{{"user_id": "{user}", "k": 5}}\'',
        f"curl -s -H 'X-API-Key: {sf}' -H 'Content-Type: application/json' {url}/v1/recommendations "
        f'-d \'{{"session_item_ids": ["{item}"], "k": 5}}\'',
        f"curl -s -H 'X-API-Key: {sf}' {url}/v1/items/{item}/similar?k=5",
        f"curl -s -H 'X-API-Key: {sf}' {url}/v1/items/{item}/bought-together?k=5",
        f"curl -s -H 'X-API-Key: {sf}' '{url}/v1/trending?k=5'",
        f"curl -s -H 'X-API-Key: {sf}' -H 'Content-Type: application/json' {url}/v1/events "
        f'-d \'{{"events": [{{"user_id": "{user}", "item_id": "{item}", "event_type": "view"}}]}}\'',
        f"curl -s -H 'X-API-Key: {sf}' -H 'Content-Type: application/json' {url}/v1/search "
        f'-d \'{{"query": "{query}", "k": 5}}\'',
        f"curl -s -H 'X-API-Key: {sf}' '{url}/v1/search/suggest?q={prefix}'",
        f"curl -s -H 'X-API-Key: {co}' -H 'Content-Type: application/json' {url}/v1/fraud/score "
        f'-d \'{{"transaction_id": "t1", "timestamp": "2026-10-31T12:00:00", "customer_id": "{customer}", '
        f'"amount": 950.0, "channel": "web"}}\'',
        f"curl -s -H 'X-API-Key: {pl}' -H 'Content-Type: application/json' {url}/v1/forecast "
        f'-d \'{{"item_id": "{ex["series_item"]}", "store_id": "{ex["series_store"]}", "horizon": 7}}\'',
        f"curl -s -X POST -H 'X-API-Key: {ad}' {url}/v1/admin/reload",
    ]
    link = f"{url}/console#key={by_role['console']}"
    console.print(f"\nConsole (the link hands the console key to your browser): {link}", soft_wrap=True)
    quoted = quote(query)
    console.print(
        f"  then e.g. {url}/console/shopper?user={user}  {url}/console/search?q={quoted}  "
        f"{url}/console/planner?item={ex['series_item']}&store={ex['series_store']}",
        soft_wrap=True,
        highlight=False,
    )
    console.print(f"\nServer: {url}  (docs: {url}/docs, metrics: {url}/metrics)\nTry:")
    for line in lines:
        console.print("  " + line, soft_wrap=True, highlight=False)
