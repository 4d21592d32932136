"""MLflow glue: the ONLY module in Shelfwise that imports mlflow.

Every training run logs params, the data fingerprint, holdout metrics and the saved model
directory as artifacts, registers a version of ``shelfwise-<family>`` and moves the ``champion``
alias only when the new version beats the current champion on the family's primary metric (or
when promotion is forced). Serving pulls an alias into a local cache, so a server restarts from
the cache when the registry is unreachable.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import ArtifactError, ModelUnavailableError
from models.settings import Settings

log = logging.getLogger(__name__)
CHAMPION = "champion"
MODEL_SUBDIR = "model"


def model_name(family: str) -> str:
    """Registered model name of a family."""
    return f"shelfwise-{family}"


@dataclass(frozen=True)
class RegisteredArtifact:
    """A registry model version materialised in the local cache."""

    family: str
    version: str
    path: Path
    alias: str
    run_id: str | None = None
    from_cache: bool = False


@dataclass
class Registration:
    """What ``log_and_register`` did."""

    run_id: str
    version: str
    promoted: bool
    previous_champion: str | None
    comparison: dict[str, Any] = field(default_factory=dict)


def _store_uri(settings: Settings) -> str:
    """The tracking URI MLflow is given: a bare ``postgresql://`` names the pinned driver.

    SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3, which is not a dependency; psycopg2 is.
    """
    uri = settings.tracking_uri
    for bare in ("postgresql://", "postgres://"):
        if uri.startswith(bare):
            return "postgresql+psycopg2://" + uri.removeprefix(bare)
    return uri


def _is_database(uri: str) -> bool:
    return uri.split(":", 1)[0].split("+", 1)[0] in {"sqlite", "postgresql", "mysql", "mssql"}


def _client(settings: Settings):  # -> mlflow.MlflowClient; lazy: importing mlflow costs ~1 s
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    settings.home_dir.mkdir(parents=True, exist_ok=True)
    uri = _store_uri(settings)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow, mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _experiment_id(mlflow: Any, client: Any, settings: Settings) -> str:
    exp = client.get_experiment_by_name(settings.experiment)
    if exp is not None:
        return exp.experiment_id
    location = None
    if _is_database(settings.tracking_uri):
        # A database store (SQLite, PostgreSQL ...) keeps artifacts inside SHELFWISE_HOME, not
        # in whatever the current directory is; a tracking server decides for itself.
        location = settings.artifact_root.as_uri()
    return client.create_experiment(settings.experiment, artifact_location=location)


def _metric_of_version(client: Any, mv: Any, metric: str) -> float | None:
    if not mv.run_id:
        return None
    value = client.get_run(mv.run_id).data.metrics.get(metric)
    return None if value is None or math.isnan(value) else float(value)


def _champion(client: Any, name: str) -> Any | None:
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except Exception:  # noqa: BLE001 - mlflow raises MlflowException for "no such alias/model"
        return None


def _decide(
    new: float | None, old: float | None, greater_is_better: bool, force: bool, has_champion: bool
) -> tuple[bool, str]:
    if force:
        return True, "forced with --promote"
    if not has_champion:
        return True, "no champion yet"
    if new is None:
        return False, "new version has no primary metric to compare"
    if old is None:
        return True, "champion has no primary metric"
    better = new > old if greater_is_better else new < old
    return better, f"new {new:.6g} vs champion {old:.6g}: {'better' if better else 'not better'}"


def _register(client: Any, name: str, source: str, run_id: str) -> Any:
    # The model is a plain artifact directory (meta.json + pickle-free payloads), not an MLflow
    # flavor, so it is registered from its artifact URI rather than through a logged model.
    try:
        client.get_registered_model(name)
    except Exception:  # noqa: BLE001 - first version of this family
        client.create_registered_model(name, description=f"Shelfwise {name.split('-', 1)[1]} models")
    return client.create_model_version(name, source=source, run_id=run_id)


def log_and_register(
    settings: Settings,
    *,
    family: str,
    model_dir: str | Path,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    primary_metric: str,
    greater_is_better: bool,
    tags: Mapping[str, str] | None = None,
    force_promote: bool = False,
    run_name: str | None = None,
) -> Registration:
    """Log one training run, register its model directory and maybe move ``champion``."""
    mlflow, client = _client(settings)
    name = model_name(family)
    exp_id = _experiment_id(mlflow, client, settings)
    clean = {k: float(v) for k, v in metrics.items() if v is not None and not math.isnan(float(v))}
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name or f"{family}") as run:
        mlflow.set_tags(
            {"shelfwise.family": family, "shelfwise.primary_metric": primary_metric, **(tags or {})}
        )
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        if clean:
            mlflow.log_metrics(clean)
        mlflow.log_artifacts(str(model_dir), artifact_path=MODEL_SUBDIR)
        run_id = run.info.run_id
        champion = _champion(client, name)
        mv = _register(client, name, f"{run.info.artifact_uri}/{MODEL_SUBDIR}", run_id)
        old = _metric_of_version(client, champion, primary_metric) if champion is not None else None
        promoted, why = _decide(
            clean.get(primary_metric), old, greater_is_better, force_promote, champion is not None
        )
        comparison = {
            "primary_metric": primary_metric,
            "new": clean.get(primary_metric),
            "champion_version": str(champion.version) if champion is not None else None,
            "champion": old,
            "promoted": promoted,
            "reason": why,
        }
        mlflow.log_dict(comparison, "champion_comparison.json")
        mlflow.set_tag("shelfwise.promoted", str(promoted).lower())
        if promoted:
            client.set_registered_model_alias(name, CHAMPION, mv.version)
    return Registration(
        run_id=run_id,
        version=str(mv.version),
        promoted=promoted,
        previous_champion=str(champion.version) if champion is not None else None,
        comparison=comparison,
    )


def promote(settings: Settings, family: str, version: str | int, alias: str = CHAMPION) -> None:
    """Point ``alias`` at ``version`` (also the rollback path)."""
    _, client = _client(settings)
    name = model_name(family)
    try:
        client.get_model_version(name, str(version))
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailableError(family, f"no version {version} of {name} is registered") from exc
    client.set_registered_model_alias(name, alias, str(version))


def list_models(settings: Settings) -> list[dict[str, Any]]:
    """One row per registered version: family, version, aliases, primary metric and its value."""
    _, client = _client(settings)
    rows: list[dict[str, Any]] = []
    for rm in client.search_registered_models(filter_string="name LIKE 'shelfwise-%'"):
        family = rm.name.removeprefix("shelfwise-")
        aliases: dict[str, list[str]] = {}
        for alias, version in (rm.aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
        for mv in client.search_model_versions(f"name='{rm.name}'"):
            run = client.get_run(mv.run_id) if mv.run_id else None
            metric = run.data.tags.get("shelfwise.primary_metric") if run else None
            rows.append(
                {
                    "family": family,
                    "version": str(mv.version),
                    "aliases": aliases.get(str(mv.version), []),
                    "primary_metric": metric,
                    "value": run.data.metrics.get(metric) if run and metric else None,
                    "run_id": mv.run_id,
                    "created": mv.creation_timestamp,
                }
            )
    return sorted(rows, key=lambda r: (r["family"], -int(r["version"])))


def _pointer(settings: Settings, family: str, alias: str) -> Path:
    return settings.cache_dir / family / f"{alias}.json"


def _from_cache(settings: Settings, family: str, alias: str, why: str) -> RegisteredArtifact:
    pointer = _pointer(settings, family, alias)
    if not pointer.is_file():
        raise ModelUnavailableError(family, why)
    info = json.loads(pointer.read_text())
    path = Path(info["path"])
    if not (path / "meta.json").is_file():
        raise ModelUnavailableError(family, f"{why}; the cached copy at {path} is incomplete")
    log.warning("Serving %s v%s from the local cache: %s", family, info["version"], why)
    return RegisteredArtifact(family, str(info["version"]), path, alias, info.get("run_id"), from_cache=True)


def alias_version(settings: Settings, family: str, alias: str = CHAMPION) -> str | None:
    """The version ``alias`` points to now (one cheap registry lookup, nothing downloaded).

    Returns:
        The version, or ``None`` when nothing is registered under the alias.

    Raises:
        ConnectionError: the registry cannot be reached (servers keep serving what they have).
    """
    try:
        _, client = _client(settings)
        return str(client.get_model_version_by_alias(model_name(family), alias).version)
    except Exception as exc:  # noqa: BLE001 - unreachable store, no model, no alias
        if getattr(exc, "error_code", None) in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            return None
        raise ConnectionError(f"registry unreachable ({type(exc).__name__}: {exc})") from exc


def remember_alias(settings: Settings, artifact: RegisteredArtifact) -> None:
    """Record ``artifact`` as the cached copy of its alias (what a server restarts from offline)."""
    pointer = _pointer(settings, artifact.family, artifact.alias)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    info = {"version": artifact.version, "path": str(artifact.path), "run_id": artifact.run_id}
    pointer.write_text(json.dumps(info))


def cached_alias(
    settings: Settings, family: str, alias: str = CHAMPION, *, why: str = "asked for"
) -> RegisteredArtifact | None:
    """The last version of ``alias`` remembered in the local cache (``why`` goes to the log), or None."""
    try:
        return _from_cache(settings, family, alias, why)
    except (ModelUnavailableError, OSError, ValueError, KeyError):
        return None


def fetch_alias(
    settings: Settings, family: str, alias: str = CHAMPION, *, remember: bool = True
) -> RegisteredArtifact:
    """Download the version behind ``alias`` into the cache (once) and return where it lies.

    With ``remember=False`` the cache pointer of the alias is left alone: a server calls
    ``remember_alias`` only once the model has loaded, so a corrupt version never becomes what
    it restarts from when the registry is down.

    Raises:
        ModelUnavailableError: nothing is registered under the alias and no cached copy exists.
    """
    name = model_name(family)
    try:
        mlflow, client = _client(settings)
        mv = client.get_model_version_by_alias(name, alias)
    except Exception as exc:  # noqa: BLE001 - unreachable store, no model, no alias
        if getattr(exc, "error_code", None) in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            raise ModelUnavailableError(
                family, f"no '{alias}' version of {name} is registered; run `shelfwise train {family}`"
            ) from exc
        return _from_cache(settings, family, alias, f"registry unreachable ({type(exc).__name__})")
    target = settings.cache_dir / family / str(mv.version)
    if not (target / "meta.json").is_file():
        tmp = target.with_name(f".{target.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{mv.version}", dst_path=str(tmp)
        )
        src = Path(local)
        if not (src / "meta.json").is_file():
            raise ArtifactError(f"{name} v{mv.version} has no meta.json in its artifacts ({src})")
        shutil.rmtree(target, ignore_errors=True)
        src.rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
    artifact = RegisteredArtifact(family, str(mv.version), target, alias, mv.run_id)
    if remember:
        remember_alias(settings, artifact)
    return artifact
