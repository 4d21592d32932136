"""The small base class every model family shares (the scikit-learn estimator conventions).

Subclasses declare ``family``, ``model_type`` and ``format_version`` as class attributes and take
keyword-only hyper-parameters in ``__init__`` that they store unchanged under the same names.
``get_params`` reads them back from the signature, and ``_write_meta``/``_read_meta`` are the one
place that writes and checks ``meta.json`` for a family, so no class repeats that boilerplate.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from models.artifact import read_meta, write_meta

T = TypeVar("T")


class ModelBase:
    """Shared lifecycle plumbing: ``get_params``, ``__repr__`` and the meta.json round trip."""

    family: ClassVar[str]
    model_type: ClassVar[str]
    format_version: ClassVar[int]
    data_window_: dict[str, Any] | None

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters given to ``__init__``, JSON-ready (sequences as lists, mappings as dicts).

        ``meta.json`` stores exactly this, and ``load`` rebuilds the model with ``cls(**params)``.
        """
        params = {}
        for name in self._param_names():
            value = getattr(self, name)
            if hasattr(value, "keys"):
                value = dict(value)
            elif isinstance(value, tuple | list):
                value = list(value)
            params[name] = value
        return params

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = {k: v for k, v in self.get_params().items() if defaults.get(k) != v}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    def _write_meta(self, directory: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Create ``directory`` with this model's ``meta.json``; returns the directory."""
        return write_meta(
            directory,
            family=self.family,
            model_type=self.model_type,
            format_version=self.format_version,
            params=self.get_params(),
            data_window=getattr(self, "data_window_", None),
            metrics=getattr(self, "metrics_", None),  # the training run's holdout metrics, when set
            extra=extra,
        )

    def _derived(self, name: str, source: Any, build: Callable[[Any], T]) -> T:
        """``build(source)``, kept on the instance until ``source`` is replaced (refit, reload).

        For query-time structures derived from a fitted attribute (a compiled booster, a lookup
        table): built on first use, never saved, rebuilt when the attribute is a new object.
        """
        cached = self.__dict__.get(name)
        if cached is None or cached[0] is not source:
            cached = self.__dict__[name] = (source, build(source))
        return cached[1]

    @classmethod
    def _read_meta(cls, directory: str | Path) -> dict[str, Any]:
        """Read ``meta.json``, refusing another family, model type or format version."""
        return read_meta(
            directory, family=cls.family, model_type=cls.model_type, format_version=cls.format_version
        )
