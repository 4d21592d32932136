"""Reason codes in words for velocity features ("7 transactions on this card in the last hour,
usual is 0.3"), used with LightGBM's per-prediction contributions."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from fraud.velocity import DAY, HOUR, VelocityConfig, window_label

_WORDS = {"1h": "hour", "1d": "day", "7d": "7 days", "30d": "30 days"}


def noun(entity: str) -> str:
    """``customer_id -> customer``, ``terminal_id -> terminal``."""
    return re.sub(r"_?id$", "", entity).replace("_", " ") or entity


def _span(label: str) -> str:
    return _WORDS.get(label, label)


def _duration(secs: float) -> str:
    if secs < HOUR:
        return f"{secs / 60:.0f} min"
    if secs < DAY:
        return f"{secs / HOUR:.1f} h"
    return f"{secs / DAY:.1f} days"


def describe(name: str, value: float, row: Mapping[str, float], config: VelocityConfig) -> str | None:
    """A sentence for velocity feature ``name`` holding ``value``; None if not a velocity feature.

    Args:
        name: feature name (``fraud.velocity.VelocityConfig.names``).
        value: its value for this transaction.
        row: every feature of the transaction by name (for "usual" comparisons).
        config: the model's velocity config.
    """
    if name.startswith("new_"):
        other, owner = name[4:].split("_for_", 1)
        return f"new {noun(other)} for this {noun(owner)}"
    for e in config.entities:
        if name.startswith(e + "_"):
            return _entity_sentence(name[len(e) + 1 :], value, e, row, config)
    return None


def _entity_sentence(
    kind: str, value: float, e: str, row: Mapping[str, float], config: VelocityConfig
) -> str:
    who = noun(e)
    if math.isnan(value):
        return f"no {who} history for {kind.replace('_', ' ')}"
    longest = window_label(max(config.windows)) if config.windows else None
    if kind.startswith("n_") and kind != "n_all" and not kind.startswith("n_delayed"):
        w = kind[2:]
        usual = ""
        seconds = next((s for s in config.windows if window_label(s) == w), None)
        base = row.get(f"{e}_n_{longest}") if longest else None
        if seconds and base is not None and not math.isnan(base) and longest != w:
            usual = f", usual is {base * seconds / max(config.windows):.1f}"
        return f"{value:.0f} transactions on this {who} in the last {_span(w)}{usual}"
    if kind.startswith("sum_"):
        return f"{value:.2f} spent on this {who} in the last {_span(kind[4:])}"
    if kind.startswith("mean_"):
        return f"average amount {value:.2f} on this {who} over the last {_span(kind[5:])}"
    if kind == "n_all":
        return (
            f"first transaction of this {who}"
            if value == 0
            else f"{value:.0f} earlier transactions of this {who}"
        )
    if kind.startswith("amount_vs_mean_"):
        span = "all history" if kind.endswith("_all") else f"the last {_span(kind[15:])}"
        return f"amount is {value:.1f}x this {who}'s average over {span}"
    if kind == "secs_since_prev":
        return f"{_duration(value)} since this {who}'s previous transaction"
    if kind.startswith("fraud_rate_"):
        span = _span(kind[11:])
        return f"{value:.0%} of this {who}'s transactions in the {span} before the label delay were fraud"
    span = _span(kind[10:])
    if value == 0:
        return f"this {who} has no transactions with known labels in the {span} window (new or recent {who})"
    return f"{value:.0f} transactions of this {who} with known labels in the {span} window"
