"""LightGBM forests compiled to machine code for the request path (lleaves), LightGBM as fallback.

A re-ranker scores 100-200 candidates per request. ``Booster.predict`` walks every tree through
LightGBM's generic predictor, the largest single cost of a personalised recommendation. lleaves
compiles the same model text with LLVM into one native function (every split an inlined
comparison), which scores the batch several times faster (docs/ARCHITECTURE.md). Both implement
LightGBM's split semantics (missing values, default directions, categorical bitsets); the scores
agree to ~1e-15 (float64 summation order), and
``tests/trees/test_trees_batch.py`` checks that and the resulting order on real re-rankers.

Compiling takes a second or two, so it happens on first use (``predict``/``compile``), once per
loaded model, under a lock; serving triggers it before a model goes live (``warm_up`` of the
models that use it, called by ``serving.model_store.smoke_check``). Nothing compiled is saved:
the artifact stays the LightGBM text file. Without lleaves (or when compiling fails) scoring
falls back to ``Booster.predict`` with the same results, only slower.

The price is memory: loading LLVM (llvmlite) and compiling a model adds about a hundred MB to the
process's RSS. The recommender pays it for its per-request time; the search re-ranker (100 rows,
a tighter memory budget) keeps LightGBM's predictor.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


class TreeScorer:
    """``booster.predict(x, num_threads=1)`` for row batches, through a compiled forest.

    Args:
        booster: a trained ``lightgbm.Booster`` (numerical features).
        compiled: False keeps LightGBM's own predictor (the reference implementation).
    """

    def __init__(self, booster: Any, *, compiled: bool = True) -> None:
        self.booster = booster
        self.want_compiled = compiled
        self._model: Any = None
        self._tried = False
        self._lock = threading.Lock()

    @property
    def is_compiled(self) -> bool:
        """Whether scoring runs through lleaves (after ``compile``)."""
        return self._model is not None

    def compile(self) -> TreeScorer:
        """Compile now (idempotent); the first ``predict`` does it otherwise."""
        if self._tried or not self.want_compiled:
            return self
        with self._lock:
            if not self._tried:
                self._model = _compile(self.booster)
                self._tried = True
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores of the rows of ``x`` (2-D), as ``Booster.predict`` returns them."""
        self.compile()
        if self._model is None:
            return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)
        return np.asarray(self._model.predict(np.ascontiguousarray(x, dtype=np.float64), n_jobs=1))

    def __reduce__(self) -> tuple[Any, ...]:  # the native function is not picklable: recompile
        return (TreeScorer, (self.booster,), {"want_compiled": self.want_compiled})


def _compile(booster: Any) -> Any:
    """An lleaves model of ``booster``, or None (then LightGBM predicts)."""
    try:
        import lleaves
    except ImportError:  # pragma: no cover - lleaves is a dependency; a trimmed install still works
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="shelfwise-trees-") as tmp:
            path = Path(tmp) / "model.txt"
            booster.save_model(str(path))
            model = lleaves.Model(model_file=str(path))
            model.compile()
        return model
    except Exception:  # noqa: BLE001 - a model lleaves cannot compile is still served by LightGBM
        logger.warning(
            "lleaves could not compile a LightGBM model; using LightGBM's predictor", exc_info=True
        )
        return None
