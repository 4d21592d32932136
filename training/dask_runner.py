"""Training on a Dask cluster: each family's job runs as one Dask task, MLflow stays here.

Why ``dask.distributed.Client.submit`` rather than a hand-written process pool: the same code
then runs on one machine (``LocalCluster``) and on many (``dask scheduler`` + ``dask worker``
on each host) with no change; the scheduler places tasks on free workers, moves each task's
small arguments and result over the network, re-raises a task's exception here with its
traceback, and its dashboard shows what runs where. A ``ProcessPoolExecutor`` stops at one
machine and would need all of that written by hand.

The division of labour keeps the local and the cluster paths identical where it matters:

- a family's settings search runs its trials as further Dask tasks on any worker
  (``training.tuning.DaskTrials``): tuning is what scales out, not just the families side by side;
- a worker loads the store folder itself (the same ``load_store(data, only=needed)`` call as
  here, so the frames and their fingerprint are the same), runs ``training.pipeline.fit_family``
  and saves the model directory under ``SHELFWISE_HOME/dask-work/<run>/<family>``; it returns
  a small ``FamilyRun`` (metrics, run parameters, where the model lies), never the model;
- this (client) process logs, registers and moves ``champion`` through ``models.registry``
  exactly as ``train_family`` does, then deletes the work directory (MLflow keeps its copy).

So the workers need the shelfwise environment installed and must see the data folder and
``SHELFWISE_HOME`` at the same absolute paths as this process (one machine, or shared storage).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Generator, Sequence
from pathlib import Path

from models.errors import DataValidationError, InvalidInputError
from models.settings import Settings
from training.offline import OFFLINE_ENV
from training.pipeline import (
    DEFAULT_SEED,
    ChampionRef,
    FamilyRun,
    champion_ref,
    fit_family,
    register_run,
    skip_reason,
)
from training.store import StoreData

WORK_SUBDIR = "dask-work"


def fit_on_worker(
    family: str,
    data: str,
    needed: list[str],
    model_dir: str,
    seed: int,
    budget_s: float | None = None,
    champion: ChampionRef | None = None,
) -> FamilyRun:
    """The Dask task: load the store folder, fit ``family`` and save it to ``model_dir``.

    Its settings search spreads over the cluster: the task leaves the worker's thread pool while
    it waits (``worker_client``), and each trial runs as a task of its own on any worker. The
    champion to re-score was fetched by the client into the shared ``SHELFWISE_HOME`` cache.
    """
    from distributed import worker_client

    from training.data import load_store
    from training.tuning import DaskTrials, trials_on

    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    store = load_store(data, only=needed)
    if not budget_s:
        return fit_family(family, store, Path(model_dir), seed=seed, budget_s=budget_s, champion=champion)
    with worker_client() as client, trials_on(DaskTrials(client)):
        return fit_family(family, store, Path(model_dir), seed=seed, budget_s=budget_s, champion=champion)


def train_on_dask(
    families: Sequence[str],
    data: Path,
    store: StoreData,
    needed: list[str],
    settings: Settings,
    *,
    scheduler: str,
    seed: int = DEFAULT_SEED,
    force_promote: bool = False,
    on_outcome: Callable[[FamilyRun], None] | None = None,
    budget_s: float | None = None,
) -> list[FamilyRun]:
    """Fit ``families`` as tasks on the cluster at ``scheduler``; log and register them here.

    Args:
        families: the families to train (skipped, as locally, when ``store`` lacks their files).
        data: the store folder; workers read it at the same absolute path.
        store: the folder as loaded and validated here (skips and the fingerprint check).
        needed: the file names loaded here; workers load the same ones.
        settings: where to log and register (and ``SHELFWISE_HOME`` for the work directory).
        scheduler: the Dask scheduler address, e.g. ``tcp://10.0.0.5:8786``.
        seed: the training seed, as locally.
        force_promote: move ``champion`` even when not better.
        budget_s: each family's settings search budget (``None``: the job's default).
        on_outcome: called with each family's outcome as soon as it is registered.

    Returns:
        One outcome per family, in the order of ``families``.

    Raises:
        InvalidInputError: the scheduler cannot be reached (``field='dask_scheduler'``).
        DataValidationError: a worker read different data than this process did.
    """
    outcomes: dict[str, FamilyRun] = {}
    for family in families:
        missing = store.missing_for(family)
        if missing:
            outcomes[family] = FamilyRun(family, "skipped", skip_reason(missing))
            if on_outcome:
                on_outcome(outcomes[family])
    to_run = [f for f in families if f not in outcomes]
    if to_run:
        work = settings.home_dir / WORK_SUBDIR / uuid.uuid4().hex[:12]
        tasks = _run_tasks(
            to_run, data, store, needed, settings, scheduler, work, seed, force_promote, budget_s
        )
        try:
            for outcome in tasks:
                outcomes[outcome.family] = outcome
                if on_outcome:
                    on_outcome(outcome)
        finally:
            tasks.close()  # cancels unfinished tasks and disconnects before the work dir goes
            shutil.rmtree(work, ignore_errors=True)
    return [outcomes[f] for f in families]


def _connect(scheduler: str):  # -> distributed.Client
    from distributed import Client

    try:
        return Client(scheduler, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InvalidInputError(
            f"Cannot reach the Dask scheduler at {scheduler!r} ({type(exc).__name__}: {exc}); start one "
            "with `dask scheduler` (and `dask worker <address>`), or unset SHELFWISE_DASK_SCHEDULER "
            "to train in this process",
            field="dask_scheduler",
            value=scheduler,
        ) from exc


def _run_tasks(
    families: list[str],
    data: Path,
    store: StoreData,
    needed: list[str],
    settings: Settings,
    scheduler: str,
    work: Path,
    seed: int,
    force: bool,
    budget_s: float | None,
) -> Generator[FamilyRun, None, None]:  # registered in the order the tasks finish
    from distributed import as_completed

    token = work.name
    with _connect(scheduler) as client:
        futures = [
            client.submit(
                fit_on_worker,
                family,
                str(Path(data).resolve()),
                needed,
                str(work / family),
                seed,
                budget_s,
                None if force else champion_ref(settings, family),
                key=f"shelfwise-train-{family}-{token}",
                pure=False,
            )
            for family in families
        ]
        try:
            for future in as_completed(futures, loop=client.loop):
                run: FamilyRun = future.result()  # re-raises the task's exception here
                yield _register(run, store, data, settings, force)
        except BaseException:
            client.cancel(futures)
            raise


def _register(run: FamilyRun, store: StoreData, data: Path, settings: Settings, force: bool) -> FamilyRun:
    if run.fingerprint != store.fingerprint():
        raise DataValidationError(
            f"The Dask worker that trained {run.family} read different data from {str(data)!r} than "
            "this process (fingerprints differ): workers must see the same folder at the same path, "
            "unchanged while training runs",
            file=str(data),
        )
    start = time.perf_counter()
    register_run(run, settings, force=force)
    run.seconds += time.perf_counter() - start
    return run
