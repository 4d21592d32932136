"""The velocity fraud model's settings search space, declared beside the model.

``training.tuning.tune`` samples it on the store's own validation split: which of the discovered
entity columns get velocity features (``customer_id`` always does), the velocity and fraud-rate
windows, and the booster's size. Only ``trial.suggest_*`` calls, so this package needs no optuna.

A trial's raw parameters (what Optuna records, e.g. ``entity_ip_address: False``) map to
``VelocityFraudModel`` keyword arguments through ``suggest`` itself: ``settings(params)`` replays
the recorded values through the same function, so the mapping exists once. The first trial is the
model's own defaults (``defaults``), read from ``VelocityFraudModel.__init__``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from fraud.entities import CUSTOMER
from fraud.velocity_model import VelocityFraudModel

# Velocity windows in hours, by name (Optuna's categorical choices must be plain scalars).
WINDOWS_H: dict[str, tuple[float, ...]] = {
    "1h-1d-7d-30d": (1, 24, 168, 720),
    "1h-1d-7d": (1, 24, 168),
    "1d-7d-30d": (24, 168, 720),
    "10m-1h-1d-7d-30d": (1 / 6, 1, 24, 168, 720),
    "1h-1d-7d-30d-90d": (1, 24, 168, 720, 2160),
}
# Fraud-rate windows in days (they end one label delay before the transaction).
RISK_WINDOWS_D: dict[str, tuple[float, ...]] = {
    "7d-30d": (7, 30),
    "1d-7d-30d": (1, 7, 30),
    "30d": (30,),
}
ENTITY_PREFIX = "entity_"


def suggest(trial: Any, entities: Sequence[str] = ()) -> dict[str, Any]:
    """``VelocityFraudModel`` keyword arguments for one trial.

    Args:
        trial: an Optuna trial (or anything with its ``suggest_*`` methods).
        entities: the candidate entity columns (``fraud.entities.discover_entities``); each
            one other than ``customer_id`` is switched on or off by the trial.
    """
    chosen = [e for e in entities if e == CUSTOMER or trial.suggest_categorical(_flag(e), [True, False])]
    return {
        "entities": chosen,
        "windows_h": list(WINDOWS_H[trial.suggest_categorical("windows", list(WINDOWS_H))]),
        "risk_windows_d": list(
            RISK_WINDOWS_D[trial.suggest_categorical("risk_windows", list(RISK_WINDOWS_D))]
        ),
        "n_estimators": trial.suggest_int("n_estimators", 100, 800, step=50),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 10, 200, log=True),
    }


def defaults(entities: Sequence[str] = ()) -> dict[str, Any]:
    """The raw trial parameters of the model's defaults (every candidate entity on).

    The values come from ``VelocityFraudModel.__init__``, the one place defaults live.
    """
    init = {p.name: p.default for p in inspect.signature(VelocityFraudModel.__init__).parameters.values()}
    return {
        **{_flag(e): True for e in entities if e != CUSTOMER},
        "windows": _name_of(WINDOWS_H, init["windows_h"]),
        "risk_windows": _name_of(RISK_WINDOWS_D, init["risk_windows_d"]),
        **{k: init[k] for k in ("n_estimators", "num_leaves", "learning_rate", "min_child_samples")},
    }


def settings(params: Mapping[str, Any], entities: Sequence[str] = ()) -> dict[str, Any]:
    """The model keyword arguments of recorded trial parameters (missing ones: the defaults)."""
    return suggest(_Replay({**defaults(entities), **params}), entities)


class _Replay:
    """Answers ``suggest_*`` calls from recorded values, so ``suggest`` maps them to settings."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self.values[name]

    def suggest_int(self, name: str, low: int, high: int, **_: Any) -> int:
        return int(self.values[name])

    def suggest_float(self, name: str, low: float, high: float, **_: Any) -> float:
        return float(self.values[name])


def _flag(entity: str) -> str:
    return ENTITY_PREFIX + entity


def _name_of(table: Mapping[str, tuple[float, ...]], value: Sequence[float]) -> str:
    wanted = tuple(float(v) for v in value)
    for name, windows in table.items():
        if tuple(float(v) for v in windows) == wanted:
            return name
    raise ValueError(f"the model's default windows {list(value)} are not in the search space {dict(table)}")
