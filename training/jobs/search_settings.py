"""The search family's settings search: seeded TPE over ``search.space`` on judged queries.

A trial is a :func:`search.variants.variant` of the one fitted model: the catalog is encoded and
the vector index built once, a trial only rebuilds the BM25 index (when its ``k1``, ``b`` or field
weights differ) and remembers query vectors across trials (:class:`search.variants.MemoEncoder`).
It splits the judged queries it is given in two (a fixed seed): it tunes its fusion (and
re-ranker) on one part exactly as the returned model is tuned, and is scored by NDCG@10 of
``search`` (the served call) on the other. So a trial costs seconds, not a re-encoding.

The training job calls :meth:`SettingsSearch.choose` once per cross-fitting fold, on that fold's
tuning half only (the half it is evaluated on never takes part), and once on all judgments for
the model it returns.

Under ``shelfwise train --dask`` the trials run on the cluster's workers like the other families'
(:class:`VariantObjective`): the fitted model travels once per search as its saved files (the
same pickle-free artifact the registry holds, packed in memory), and each worker loads it once.
"""

from __future__ import annotations

import functools
import io
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from search import space
from search.hybrid import HybridSearch
from search.metrics import ndcg_at_k
from search.variants import MemoEncoder, variant
from training.tuning import LocalTrials, TuningReport, current_executor, params_of, tune

EVAL_K = 10
MAX_TRIALS = 40
# Judged queries a trial scores, half to tune its fusion and half to validate it: on 54k products
# a trial then takes ~8 s, and 600 tuning queries still train the re-ranker (500 needed).
MAX_TRIAL_QUERIES = 1200
# Fewer validation queries than this and the best of many trials is mostly noise.
MIN_VALIDATION_QUERIES = 50
TRIAL_SPLIT_SEED = 1  # the trial split depends on the queries only, not on the training seed


class SettingsSearch:
    """Settings searches over variants of one fitted model, with what each chose.

    Args:
        model: the fitted hybrid model whose vector side every trial shares.
        fields: the catalog fields whose weights are searched (:func:`search.space.searched_fields`).
        seed: seeds the TPE sampler.
        max_trials: most trials per search (the defaults are the first).
    """

    def __init__(self, model: HybridSearch, fields: tuple[str, ...], *, seed: int, max_trials: int) -> None:
        assert model.encoder_ is not None, "fit the model first"
        self.model = model
        self.base = variant(model, encoder=MemoEncoder(model.encoder_))
        self.suggest = functools.partial(space.suggest, fields=fields)
        self.defaults = space.trial_values(model.get_params(), fields=fields)
        self.seed = seed
        self.max_trials = max_trials
        self.notes: dict[str, str] = {}
        self.reports: dict[str, TuningReport] = {}
        self.seconds = 0.0  # spent searching so far
        self._pack: bytes | None = None  # the model packed for trials on other workers

    def choose(self, judgments: dict[str, dict[str, float]], budget_s: float, *, name: str) -> HybridSearch:
        """An untuned variant of the model with the settings that won on ``judgments``.

        Returns the model itself (the defaults) when ``judgments`` hold too few queries to choose
        on, or without budget. A batch of trials that started within ``budget_s`` finishes.
        """
        fit_part, val_part = trial_split(judgments)
        if len(val_part) < MIN_VALIDATION_QUERIES or budget_s <= 0:
            self.notes[name] = (
                "skipped: no budget left; the defaults are used"
                if budget_s <= 0
                else f"skipped: {len(val_part)} validation queries, fewer than the {MIN_VALIDATION_QUERIES} "
                "a settings choice needs; the defaults are used"
            )
            return self.model

        executor = current_executor()
        shipped = not isinstance(executor, LocalTrials)  # the trials leave this process
        objective = VariantObjective(
            self.base, fit_part, val_part, packed=self._packed() if shipped else None
        )
        report = tune(
            objective,
            self.suggest,
            direction="maximize",
            budget_s=budget_s,
            max_trials=self.max_trials,
            seed=self.seed,
            defaults=self.defaults,
            metric=f"ndcg_at_{EVAL_K}",
            n_cases=len(val_part),
            executor=executor,
        )
        self.reports[name] = report
        self.seconds += report.seconds
        self.notes[name] = (
            f"on {len(fit_part)} judged queries to tune each trial's fusion + {len(val_part)} to score it"
        )
        return variant(self.model, **params_of(self.suggest, report.best_params))

    def _packed(self) -> bytes:
        """The fitted model's saved files as one in-memory tar (packed once per search)."""
        if self._pack is None:
            with tempfile.TemporaryDirectory(prefix="shelfwise-search-") as tmp:
                self.model.save(Path(tmp) / "model")
                buffer = io.BytesIO()
                with tarfile.open(fileobj=buffer, mode="w") as tar:
                    tar.add(Path(tmp) / "model", arcname="model")
                self._pack = buffer.getvalue()
        return self._pack

    def params(self) -> dict[str, Any]:
        """What each search did (or why it did not run) and chose, for the run parameters."""
        out: dict[str, Any] = {}
        for name, note in self.notes.items():
            report = self.reports.get(name)
            out[f"settings_search_{name}"] = note if report is None else f"{report.summary()} {note}"
        for name, report in self.reports.items():
            out[f"settings_chosen_{name}"] = ", ".join(
                f"{k}={_short(v)}" for k, v in report.best_params.items()
            )
        return out


class VariantObjective:
    """One settings trial: a variant of the fitted model tuned on ``fit_part``, NDCG@10 on ``val_part``.

    In process it uses the model it is given. Shipped to Dask workers (``packed``: the model's
    saved files), it travels without the live model and each worker loads it from the files
    once, with a query-vector memo of its own.
    """

    def __init__(
        self, base: HybridSearch, fit_part: dict, val_part: dict, *, packed: bytes | None = None
    ) -> None:
        self.base: HybridSearch | None = base
        self.fit_part, self.val_part, self.packed = fit_part, val_part, packed

    def __getstate__(self) -> dict[str, Any]:
        if self.packed is None:
            raise TypeError("a VariantObjective without its packed model cannot leave this process")
        return {**self.__dict__, "base": None}

    def __call__(self, trial_params: dict[str, Any]) -> float:
        if self.base is None:
            assert self.packed is not None
            self.base = _unpacked(self.packed)
        trial = variant(self.base, **trial_params).tune(self.fit_part, k=EVAL_K)
        ranked = {q: [h.item_id for h in trial.search(q, k=EVAL_K).hits] for q in self.val_part}
        return ndcg_at_k(ranked, self.val_part, EVAL_K)


@functools.lru_cache(maxsize=2)
def _unpacked(packed: bytes) -> HybridSearch:
    """The model in ``packed``, loaded once per worker process (with its own query-vector memo)."""
    folder = Path(tempfile.mkdtemp(prefix="shelfwise-search-trial-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
            tar.extractall(folder, filter="data")
        model = HybridSearch.load(folder / "model")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert model.encoder_ is not None
    return variant(model, encoder=MemoEncoder(model.encoder_))


def trial_split(judgments: dict[str, dict[str, float]]) -> tuple[dict, dict]:
    """A trial's fusion-tuning and validation queries: those with a relevant item, sorted, in a
    fixed-seed order, at most :data:`MAX_TRIAL_QUERIES` of them, cut in two."""
    queries = sorted(q for q, rels in judgments.items() if q.strip() and any(r > 0 for r in rels.values()))
    order = np.random.default_rng(TRIAL_SPLIT_SEED).permutation(len(queries))[:MAX_TRIAL_QUERIES]
    half = len(order) // 2
    return (
        {queries[i]: judgments[queries[i]] for i in order[:half]},
        {queries[i]: judgments[queries[i]] for i in order[half:]},
    )


def _short(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value
