"""Allow lists, block lists and simple rules that decide before (or instead of) the model.

They are data, not code: a JSON document such as::

    {"block": {"customer_id": ["c13"], "device_id": ["d666"]},
     "allow": {"customer_id": ["vip-7"]},
     "rules": [{"name": "huge_amount", "field": "amount", "op": ">=", "value": 10000,
                "decision": "review"}]}

Precedence: a block-list hit declines whatever the model says; then an allow-list hit approves;
then the first matching rule sets its decision; otherwise the model's thresholds decide. The hit
is reported as ``block:<field>``, ``allow:<field>`` or ``rule:<name>``.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraud.types import APPROVE, DECISIONS, DECLINE
from models.errors import InvalidInputError

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


@dataclass(frozen=True)
class RuleHit:
    """Which list or rule decided, and its decision."""

    rule: str
    decision: str


@dataclass(frozen=True)
class Rule:
    """``field op value`` -> ``decision``."""

    name: str
    field: str
    op: str
    value: Any
    decision: str

    def matches(self, tx: Mapping[str, Any]) -> bool:
        """True when the transaction has the field and the comparison holds."""
        actual = tx.get(self.field)
        if actual is None or (isinstance(actual, float) and math.isnan(actual)):
            return False
        try:
            return bool(OPS[self.op](actual, self.value))
        except TypeError:  # e.g. a string compared with a number: the rule does not apply
            return False


class RuleSet:
    """Block/allow lists per field plus ordered rules (see the module docstring)."""

    def __init__(
        self,
        block: Mapping[str, Any] | None = None,
        allow: Mapping[str, Any] | None = None,
        rules: list[Rule] | None = None,
    ) -> None:
        self.block = {str(k): frozenset(map(str, v)) for k, v in (block or {}).items()}
        self.allow = {str(k): frozenset(map(str, v)) for k, v in (allow or {}).items()}
        self.rules = list(rules or [])

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleSet:
        """Validate and build a rule set.

        Raises:
            InvalidInputError: unknown keys, operators or decisions (``field`` names the part).
        """
        unknown = set(data) - {"block", "allow", "rules"}
        if unknown:
            raise InvalidInputError(
                f"Unknown rule-set keys {sorted(unknown)}; expected block, allow, rules", field="rules"
            )
        rules = []
        for i, raw in enumerate(data.get("rules", [])):
            try:
                rule = Rule(
                    str(raw["name"]), str(raw["field"]), str(raw["op"]), raw["value"], str(raw["decision"])
                )
            except (KeyError, TypeError) as exc:
                raise InvalidInputError(
                    f"rules[{i}] needs name, field, op, value and decision: {exc}", field="rules"
                ) from exc
            if rule.op not in OPS or rule.decision not in DECISIONS:
                raise InvalidInputError(
                    f"rules[{i}]: op must be one of {list(OPS)} and decision one of {list(DECISIONS)}",
                    field="rules",
                )
            rules.append(rule)
        for key in ("block", "allow"):
            if not isinstance(data.get(key, {}), Mapping):
                raise InvalidInputError(f"{key} must map a field name to a list of values", field=key)
        return cls(data.get("block"), data.get("allow"), rules)

    @classmethod
    def load(cls, path: str | Path | None) -> RuleSet:
        """Read a JSON file; None or a missing file is the empty rule set."""
        if path is None or not Path(path).is_file():
            return cls()
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_json(self) -> dict[str, Any]:
        """The JSON form (inverse of ``from_json``)."""
        return {
            "block": {k: sorted(v) for k, v in self.block.items()},
            "allow": {k: sorted(v) for k, v in self.allow.items()},
            "rules": [r.__dict__ for r in self.rules],
        }

    def check(self, tx: Mapping[str, Any]) -> RuleHit | None:
        """The list or rule that decides this transaction, or None (the model decides)."""
        for lists, decision, kind in ((self.block, DECLINE, "block"), (self.allow, APPROVE, "allow")):
            for name, values in lists.items():
                value = tx.get(name)
                if value is not None and str(value) in values:
                    return RuleHit(f"{kind}:{name}", decision)
        for rule in self.rules:
            if rule.matches(tx):
                return RuleHit(f"rule:{rule.name}", rule.decision)
        return None
