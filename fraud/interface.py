"""``FraudScorer``: what serving may ask a fraud model, whichever one is champion.

The velocity model (``fraud.velocity_model.VelocityFraudModel``) reads and records entity
histories in the online state; the raw-column baseline (``fraud.baseline.RawFeatureFraudModel``)
accepts the state and ignores it. Both apply the allow/block lists and rules first.
``models.families`` has mypy check that both satisfy it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fraud.online_state import FraudState
from fraud.rules import RuleSet
from fraud.types import FraudScore, TransactionField


class FraudScorer(Protocol):
    """Scores, decisions and reasons for one checkout transaction."""

    @property
    def uses_online_state(self) -> bool:
        """Whether ``score`` reads (and records to) ``state``: it then does I/O on a durable state."""
        ...

    def score(
        self,
        transactions: Mapping[str, Any],
        *,
        state: FraudState | None = None,
        rules: RuleSet | None = None,
    ) -> FraudScore:
        """Score one transaction: rules first, then the model and its thresholds."""
        ...

    def input_fields(self) -> list[TransactionField]:
        """The transaction fields the model reads, with the categories it knows."""
        ...
