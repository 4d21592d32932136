"""MLflow glue: the ONLY module in Shelfwise that imports mlflow.

Every training run logs params, the data fingerprint, holdout metrics and the saved model
directory as artifacts, registers a version of ``shelfwise-<family>`` and moves the ``champion``
alias only when the promotion gate (``models.gate``) says the new version beats its baselines and
the current champion beyond noise, case by case on the same holdout (or when promotion is
forced); otherwise the version gets the ``challenger`` alias. Serving pulls an alias into a local
cache, so a server restarts from the cache when the registry is unreachable.
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

from models import gate
from models.artifact import manifest_digest, write_manifest
from models.errors import ArtifactError, ModelUnavailableError
from models.evaluation import Evaluation
from models.settings import Settings

log = logging.getLogger(__name__)
CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_SUBDIR = "model"
MANIFEST_TAG = "shelfwise.manifest_sha256"
REPORT_SUBDIR = "evaluation"
EVALUATION_FILE = "evaluation.npz"


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


def _champion(client: Any, name: str) -> Any | None:
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except Exception:  # noqa: BLE001 - mlflow raises MlflowException for "no such alias/model"
        return None


def _champion_evaluation(mlflow: Any, version: str, run_id: str | None) -> Evaluation | None:
    """The per-case evaluation logged with the champion's run, if it has one."""
    if not run_id:
        return None
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"{REPORT_SUBDIR}/{EVALUATION_FILE}"
        )
        return Evaluation.load(local)
    except Exception as exc:  # noqa: BLE001 - an older run without one, or an unreadable file
        log.info("champion v%s has no per-case evaluation (%s)", version, type(exc).__name__)
        return None


def _rescored(report_dir: str | Path | None, champion: Any) -> Evaluation | None:
    """The champion re-scored by this run's job on the new holdout (``champion-v<N>.npz``), if any.

    Matched by version: a file for another version (a champion moved while this run trained)
    is ignored.
    """
    if report_dir is None or champion is None:
        return None
    path = Path(report_dir) / f"champion-v{champion.version}.npz"
    return Evaluation.load(path) if path.is_file() else None


def champion_artifact(settings: Settings, family: str) -> tuple[RegisteredArtifact, Evaluation | None] | None:
    """The family's champion, downloaded to the cache, with its logged per-case evaluation.

    What a training run re-scores on its new holdout. ``None`` when there is no champion or the
    registry cannot hand it over (training goes on; the gate then says it could not compare).
    """
    try:
        artifact = fetch_alias(settings, family, CHAMPION, remember=False)
    except ModelUnavailableError:
        return None
    except Exception as exc:  # noqa: BLE001 - an unreadable artifact must not stop training
        log.warning("%s: the champion could not be fetched to re-score it (%s)", family, exc)
        return None
    evaluation = None
    if artifact.run_id:
        mlflow, _ = _client(settings)
        evaluation = _champion_evaluation(mlflow, artifact.version, artifact.run_id)
    return artifact, evaluation


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
    report_dir: str | Path | None = None,
    baselines: tuple[str, ...] = (),
) -> Registration:
    """Log one training run, register its model directory and move ``champion`` or ``challenger``.

    ``report_dir`` holds the run's ``evaluation.npz`` (per-case results, what the gate decides
    on) and the settings search's trials; it is logged under ``evaluation/``.
    """
    mlflow, client = _client(settings)
    name = model_name(family)
    exp_id = _experiment_id(mlflow, client, settings)
    clean = {k: float(v) for k, v in metrics.items() if v is not None and not math.isnan(float(v))}
    evaluation_path = Path(report_dir) / EVALUATION_FILE if report_dir is not None else None
    evaluation = Evaluation.load(evaluation_path) if evaluation_path and evaluation_path.is_file() else None
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name or f"{family}") as run:
        mlflow.set_tags(
            {"shelfwise.family": family, "shelfwise.primary_metric": primary_metric, **(tags or {})}
        )
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        if clean:
            mlflow.log_metrics(clean)
        # The manifest's digest lives with the run, so a changed artifact is refused at load.
        mlflow.set_tag(MANIFEST_TAG, write_manifest(model_dir))
        mlflow.log_artifacts(str(model_dir), artifact_path=MODEL_SUBDIR)
        if report_dir is not None and Path(report_dir).is_dir():
            mlflow.log_artifacts(str(report_dir), artifact_path=REPORT_SUBDIR)
        run_id = run.info.run_id
        champion = _champion(client, name)
        champion_evaluation = (
            _champion_evaluation(mlflow, str(champion.version), champion.run_id) if champion else None
        )
        mv = _register(client, name, f"{run.info.artifact_uri}/{MODEL_SUBDIR}", run_id)
        decision = gate.decide(
            evaluation,
            baselines=baselines,
            force=force_promote,
            champion_version=str(champion.version) if champion is not None else None,
            champion_evaluation=champion_evaluation,
            rescored=_rescored(report_dir, champion),
            rescore_note=str(params.get("champion_rescore", "")),
        )
        comparison = {
            "primary_metric": primary_metric,
            "new": clean.get(primary_metric),
            "champion_version": str(champion.version) if champion is not None else None,
            **decision.as_dict(),
        }
        mlflow.log_dict(comparison, "champion_comparison.json")
        mlflow.set_tag("shelfwise.promoted", str(decision.promote).lower())
        client.set_registered_model_alias(name, CHAMPION if decision.promote else CHALLENGER, mv.version)
    return Registration(
        run_id=run_id,
        version=str(mv.version),
        promoted=decision.promote,
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
    if alias == CHAMPION:  # a challenger promoted by hand is no longer a challenger
        try:
            if str(client.get_model_version_by_alias(name, CHALLENGER).version) == str(version):
                client.delete_registered_model_alias(name, CHALLENGER)
        except Exception:  # noqa: BLE001 - no challenger alias
            pass


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
                    "ci_low": run.data.metrics.get(f"{metric}_ci_low") if run and metric else None,
                    "ci_high": run.data.metrics.get(f"{metric}_ci_high") if run and metric else None,
                    "n_cases": run.data.metrics.get("n_eval_cases") if run else None,
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


def _check_manifest(client: Any, mv: Any, target: Path, name: str) -> None:
    """Refuse a downloaded model whose manifest is not the one recorded with its training run
    (the files themselves are checked against the manifest when the model loads)."""
    expected = client.get_run(mv.run_id).data.tags.get(MANIFEST_TAG) if mv.run_id else None
    if expected is not None and manifest_digest(target) != expected:
        raise ArtifactError(
            f"{name} v{mv.version}: its manifest.json does not match the digest recorded with its "
            "training run (the artifact changed after training)"
        )


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
    _check_manifest(client, mv, target, name)
    artifact = RegisteredArtifact(family, str(mv.version), target, alias, mv.run_id)
    if remember:
        remember_alias(settings, artifact)
    return artifact
