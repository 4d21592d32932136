"""One-row LightGBM predictions at checkout speed, through LightGBM's own "fast" C API.

``Booster.predict`` on a single row spends ~80 µs in Python around ~5 µs of tree walking: it
re-parses its parameters, deep-copies them, validates and converts the array and sizes an output
buffer on every call. LightGBM's C API has a path built for exactly this case,
``LGBM_BoosterPredictForMatSingleRowFastInit`` (parse the configuration once, keep a handle) and
``LGBM_BoosterPredictForMatSingleRowFast`` (predict one row through it). ``SingleRowPredictor``
wraps that pair for the probability and the leaf indices (``fraud.attribution``'s input) of one
float64 row, with preallocated buffers, so scoring a transaction costs microseconds, not a tenth
of a millisecond. The answers are LightGBM's own (same trees, same code walking them):
``tests/trees/test_trees_single_row.py`` checks them equal to ``Booster.predict``.

The booster handle is read from the Python package's ``Booster._handle`` and the library from
``lightgbm.basic._LIB``, both private names; when either is missing (a future LightGBM), the
predictor falls back to ``Booster.predict`` with the same results, only slower.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import lightgbm as lgb
import lightgbm.basic as _basic
import numpy as np

# The C library as the lightgbm package loaded it (None: a LightGBM that renamed its internals).
_LIB: Any = getattr(_basic, "_LIB", None)
_safe_call: Any = getattr(_basic, "_safe_call", None)

_NORMAL, _LEAF_INDEX = 0, 2  # C_API_PREDICT_NORMAL, C_API_PREDICT_LEAF_INDEX
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64
_PARAMS = b"num_threads=1"


class SingleRowPredictor:
    """Probability (or regression value) and leaf indices of one row, via the fast C API.

    Args:
        booster: a trained booster with one output per row (binary or regression).

    Thread-safe: a fast-config handle owns one scratch buffer, so calls take a lock (uncontended
    in the async server, where all scoring runs on the event loop's thread).
    """

    def __init__(self, booster: lgb.Booster) -> None:
        self.booster = booster
        self.n_features = booster.num_feature()
        self.n_trees = booster.num_trees()
        best = getattr(booster, "best_iteration", 0) or 0
        self._iterations = best if best > 0 else -1  # what Booster.predict uses by default
        self._lock = threading.Lock()
        self._configs: dict[int, ctypes.c_void_p] = {}
        self._row = np.zeros(self.n_features, dtype=np.float64)
        self._out_len = ctypes.c_int64(0)
        self._prob = np.zeros(1, dtype=np.float64)
        self._leaves = np.zeros(max(self.n_trees, 1), dtype=np.float64)
        # ctypes views made once: ndarray.ctypes.data_as costs microseconds per call.
        self._row_ptr = self._row.ctypes.data_as(ctypes.c_void_p)
        self._outs = {
            _NORMAL: self._prob.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            _LEAF_INDEX: self._leaves.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        }
        self._out_len_ref = ctypes.byref(self._out_len)
        handle = getattr(booster, "_handle", None)
        self.fast = (
            _LIB is not None
            and handle is not None
            and hasattr(_LIB, "LGBM_BoosterPredictForMatSingleRowFastInit")
        )
        if self.fast:
            for kind in (_NORMAL, _LEAF_INDEX):
                config = ctypes.c_void_p()
                _safe_call(
                    _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                        handle,
                        ctypes.c_int(kind),
                        ctypes.c_int(0),
                        ctypes.c_int(self._iterations),
                        ctypes.c_int(_FLOAT64),
                        ctypes.c_int32(self.n_features),
                        ctypes.c_char_p(_PARAMS),
                        ctypes.byref(config),
                    )
                )
                self._configs[kind] = config

    def predict(self, row: np.ndarray) -> float:
        """``Booster.predict(row[None, :])[0]``: the probability for a binary booster."""
        if not self.fast:
            return float(self.booster.predict(row[None, :], num_threads=1)[0])
        self._call(_NORMAL, row)
        return float(self._prob[0])

    def leaves(self, row: np.ndarray) -> np.ndarray:
        """``Booster.predict(row[None, :], pred_leaf=True)[0]``: each tree's leaf, as int64."""
        if not self.fast:
            return np.asarray(self.booster.predict(row[None, :], pred_leaf=True, num_threads=1)[0], np.int64)
        n = self._call(_LEAF_INDEX, row)
        return self._leaves[:n].astype(np.int64)

    def _call(self, kind: int, row: np.ndarray) -> int:
        if row.shape != (self.n_features,):
            raise ValueError(f"expected a row of {self.n_features} features, got shape {row.shape}")
        with self._lock:
            np.copyto(self._row, row, casting="unsafe")  # contiguous float64, whatever came in
            _safe_call(
                _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                    self._configs[kind], self._row_ptr, self._out_len_ref, self._outs[kind]
                )
            )
            return int(self._out_len.value)

    def close(self) -> None:
        """Free the C-side configurations (also done when the predictor is garbage-collected)."""
        configs, self._configs = self._configs, {}
        for config in configs.values():
            if _LIB is not None:
                _LIB.LGBM_FastConfigFree(config)
        self.fast = False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to free into
            pass

    def __reduce__(self) -> tuple[Any, ...]:  # C handles do not survive pickling: rebuild them
        return (SingleRowPredictor, (self.booster,))
