"""The ``shelfwise`` command line: demo data, training, the registry and the server."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from models.errors import ShelfwiseError
from models.settings import get_settings
from training.offline import use_offline_defaults
from training.pipeline import DEFAULT_SEED

use_offline_defaults()  # models come with the packages; the user's own values win

app = typer.Typer(
    name="shelfwise",
    help="Shelfwise: recommendations, search, fraud scoring and demand forecasts for online stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Wide enough for the summary tables when output is piped (rich assumes 80 columns then).
console = Console(width=None if Console().is_terminal else 140)
logging.getLogger("mlflow").setLevel(logging.WARNING)


@app.callback()
def _home() -> None:
    """Every command says first which home (models, MLflow store, keys) it works in."""
    from models.settings import describe_home

    console.print(
        f"[dim]Shelfwise home: {describe_home(get_settings())}[/dim]", highlight=False, soft_wrap=True
    )


DataOpt = Annotated[Path, typer.Option("--data", help="Store data folder (see docs/DATA.md).")]
SeedOpt = Annotated[int, typer.Option(help="Random seed: same data + seed = same model.")]
DataSeedOpt = Annotated[int, typer.Option(help="Seed of the generated demo store's data.")]


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2)


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option(help="Folder to write the demo store into.")] = Path("demo-data"),
    seed: DataSeedOpt = 42,
    scale: Annotated[str, typer.Option(help="small (seconds, tests) or medium (the demo).")] = "medium",
) -> None:
    """Generate the built-in demo store (deterministic by seed)."""
    from training.demo import generate_store

    try:
        with console.status(f"Generating the {scale} demo store into {out} ..."):
            counts = generate_store(out, seed=seed, scale=scale)
    except ShelfwiseError as exc:
        _fail(exc)
    for name, n in counts.items():
        console.print(f"  {name:<18} {n:>10,} rows")


@app.command()
def train(
    family: Annotated[str, typer.Argument(help="recsys | search | fraud | forecasting | all")],
    data: DataOpt,
    seed: SeedOpt = DEFAULT_SEED,
    promote: Annotated[
        bool, typer.Option("--promote", help="Move 'champion' even when the gate would not.")
    ] = False,
    budget_minutes: Annotated[
        float | None,
        typer.Option(
            "--budget-minutes",
            min=0,
            help="Minutes of settings search per family on the store's validation split "
            "(default SHELFWISE_TUNE_BUDGET_MINUTES; 0: the defaults, no search).",
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Dask scheduler address (tcp://host:8786): fit the families on that cluster, "
            "register here. Default SHELFWISE_DASK_SCHEDULER, else in this process.",
        ),
    ] = None,
) -> None:
    """Train FAMILY (or all) from a store data folder, log it to MLflow and register it.

    A new version becomes 'champion' only when it beats its baselines and the current champion
    beyond noise (paired bootstrap on the same holdout cases); otherwise it is 'challenger'.
    """
    from training.commands import train_from_folder

    try:
        outcomes = train_from_folder(
            family,
            data,
            get_settings(),
            seed=seed,
            force_promote=promote,
            console=console,
            dask_scheduler=dask,
            budget_minutes=budget_minutes,
        )
    except ShelfwiseError as exc:
        _fail(exc)
    if not any(o.status == "trained" for o in outcomes):
        raise typer.Exit(code=1)


@app.command("models")
def list_models() -> None:
    """Registered versions, aliases and primary metrics."""
    from models.registry import list_models as rows_of

    settings = get_settings()
    empty_store = not settings.mlflow_tracking_uri and not (settings.home_dir / "mlflow.db").is_file()
    rows = [] if empty_store else rows_of(settings)  # listing never creates an empty MLflow store
    if not rows:
        console.print(
            f"No models registered yet in {settings.home_dir}. Run `shelfwise train all --data DIR` "
            "there, or set SHELFWISE_HOME to the folder that holds your models.",
            soft_wrap=True,
        )
        return
    table = Table("family", "version", "aliases", "primary metric", "value", "95% CI", "cases", "run id")
    for r in rows:
        value = "" if r["value"] is None else f"{r['value']:.4f}"
        ci = "" if r.get("ci_low") is None else f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}]"
        cases = "" if r.get("n_cases") is None else f"{r['n_cases']:,.0f}"
        table.add_row(
            r["family"],
            r["version"],
            ",".join(r["aliases"]),
            r["primary_metric"] or "",
            value,
            ci,
            cases,
            (r["run_id"] or "")[:12],
        )
    console.print(table)


@app.command()
def promote(
    family: Annotated[str, typer.Argument(help="recsys | search | fraud | forecasting")],
    version: Annotated[str, typer.Argument(help="Registered version to make champion.")],
) -> None:
    """Point FAMILY's 'champion' alias at VERSION (also how to roll back)."""
    from models.errors import InvalidInputError
    from models.families import FAMILIES
    from models.registry import promote as do_promote

    try:
        if family not in FAMILIES:  # one family at a time: a version number belongs to one family
            raise InvalidInputError(
                f"Unknown family {family!r}; promote one family at a time, one of {list(FAMILIES)}",
                field="family",
                value=family,
            )
        do_promote(get_settings(), family, version)
    except ShelfwiseError as exc:
        _fail(exc)
    console.print(
        f"shelfwise-{family}: champion -> version {version}. Running servers: POST /v1/admin/reload"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default SHELFWISE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SHELFWISE_PORT).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes; above 1 they share the online state through SHELFWISE_STATE_URL "
            "(required). Each holds its own copy of the models.",
        ),
    ] = 1,
) -> None:
    """Start the API server on the registered champions.

    Without ``SHELFWISE_API_KEYS`` it uses the keys ``shelfwise demo`` stored in the home folder.
    """
    import uvicorn

    from training.commands import check_port_free, fallback_keys_file

    settings = get_settings()
    if workers > 1 and not settings.state_url:
        _fail(
            ShelfwiseError(
                f"--workers {workers} needs SHELFWISE_STATE_URL (a Redis the workers share): without it "
                "each worker would keep its own shoppers' events and fraud histories"
            )
        )
    if (keys_file := fallback_keys_file(settings)) is not None:
        os.environ["SHELFWISE_API_KEYS"] = f"@{keys_file}"
        console.print(f"Using the API keys in {keys_file} (set SHELFWISE_API_KEYS to use others)")
    try:
        check_port_free(host or settings.host, port or settings.port)
    except ShelfwiseError as exc:
        _fail(exc)
    uvicorn.run(
        "serving.app:create_app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
        workers=workers,
    )


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="Demo store size: small or medium.")] = "medium",
    seed: DataSeedOpt = 42,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after training.")] = False,
    new_keys: Annotated[
        bool,
        typer.Option("--new-keys", help="Replace the demo API keys (default: keep them)."),
    ] = False,
) -> None:
    """The main job: generate the demo store, train all families, register them, serve."""
    from training.commands import run_demo

    try:
        run_demo(
            get_settings(),
            scale=scale,
            seed=seed,
            port=port,
            serve=not no_serve,
            console=console,
            new_keys=new_keys,
        )
    except ShelfwiseError as exc:
        _fail(exc)


keys_app = typer.Typer(help="API keys of this home's servers: create, list, revoke (no restart needed).")
app.add_typer(keys_app, name="keys")


def _keys_file() -> Path:
    from models.keys import KEYS_FILE

    return get_settings().home_dir / KEYS_FILE


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A name to list and revoke the key by, e.g. web.")],
    scope: Annotated[list[str], typer.Option(help="storefront | checkout | planner | admin (repeatable).")],
) -> None:
    """Make a key; its secret is printed once (the server picks it up within a second)."""
    from models.keys import create_key

    try:
        secret = create_key(_keys_file(), name=name, scopes=scope)
    except ShelfwiseError as exc:
        _fail(exc)
    console.print(f"Key {name!r} ({', '.join(sorted(set(scope)))}), shown once:\n{secret}", highlight=False)


@keys_app.command("list")
def keys_list() -> None:
    """Names, scopes and creation times of the keys (never the secrets)."""
    from models.keys import list_keys

    rows = list_keys(_keys_file())
    if not rows:
        console.print(
            f"No keys in {_keys_file()}. Make one with `shelfwise keys create --name NAME --scope SCOPE`."
        )
        return
    table = Table("name", "scopes", "created", "key id")
    for r in rows:
        table.add_row(r["name"], ", ".join(r["scopes"]), r["created"], r["key_id"])
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="The key's name (see `shelfwise keys list`).")],
) -> None:
    """Remove the key named NAME; servers refuse it within a second."""
    from models.keys import revoke_key

    try:
        revoke_key(_keys_file(), name)
    except ShelfwiseError as exc:
        _fail(exc)
    console.print(f"Revoked {name!r}.")


@app.command("export-forecasts")
def export_forecasts(
    out: Annotated[Path, typer.Option("--out", help="FILE.parquet|.csv; advice goes to FILE_reorder.*")],
    model_dir: Annotated[Path | None, typer.Option(help="Saved model (default: the champion).")] = None,
    lead_time: Annotated[int, typer.Option(help="Periods until an order arrives.")] = 7,
    service_level: Annotated[float, typer.Option(help="Cycle service level in (0, 1).")] = 0.95,
    review_period: Annotated[int, typer.Option(help="Periods between order decisions.")] = 1,
) -> None:
    """Export every series' forecast and reorder advice for ERP import."""
    from forecasting.export import forecast_tables, reorder_path, write_table
    from models.loader import load_model

    try:
        if model_dir is None:
            from models.registry import fetch_alias

            model_dir = fetch_alias(get_settings(), "forecasting").path
        model = load_model(model_dir, family="forecasting")
        forecasts, advice = forecast_tables(
            model, lead_time=lead_time, service_level=service_level, review_period=review_period
        )
        write_table(forecasts, out)
        write_table(advice, reorder_path(out))
    except ShelfwiseError as exc:
        _fail(exc)
    console.print(f"{len(forecasts):,} forecast rows -> {out}")
    console.print(f"{len(advice):,} series' reorder advice -> {reorder_path(out)}")


if __name__ == "__main__":
    app()
