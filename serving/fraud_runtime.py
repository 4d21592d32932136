"""What fraud scoring keeps between requests: the online feature state and the rule lists.

Configured by environment (read once when the app is built):

* ``SHELFWISE_FRAUD_STATE_DIR``: directory of the persisted fraud state (journal replayed at
  start, so a restart loses nothing). ``shelfwise serve`` defaults it to ``SHELFWISE_HOME/fraud-state``;
  an app built directly with ``create_app`` and no such variable keeps the state in memory only,
  and a warning says so.
* ``SHELFWISE_FRAUD_RULES``: a JSON file of allow/block lists and rules (``fraud.rules``). It is
  re-read when its modification time changes, so operators edit data, not code, without a restart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from fraud.online_state import FraudState, InProcessFraudState
from fraud.rules import RuleSet

logger = logging.getLogger("shelfwise.serving")

STATE_DIR_ENV = "SHELFWISE_FRAUD_STATE_DIR"
RULES_ENV = "SHELFWISE_FRAUD_RULES"


class FraudRuntime:
    """The fraud state plus the current rule set (reloaded when its file changes).

    Args:
        state: where entity histories, labels and stored answers live.
        rules: a fixed rule set, or None to read ``rules_path``.
        rules_path: JSON rules file, watched by modification time.
    """

    def __init__(
        self, state: FraudState, *, rules: RuleSet | None = None, rules_path: str | Path | None = None
    ) -> None:
        self.state = state
        self.rules_path = Path(rules_path) if rules_path else None
        self._rules = rules if rules is not None else RuleSet()
        self._mtime: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(
        cls, *, default_dir: str | Path | None = None, state: FraudState | None = None, fsync: bool = False
    ) -> FraudRuntime:
        """Build from ``SHELFWISE_FRAUD_STATE_DIR`` (else ``default_dir``) and ``SHELFWISE_FRAUD_RULES``.

        A given ``state`` (the shared Redis one) is used as is and no directory is read; ``fsync``
        makes every journal commit survive a power loss (``SHELFWISE_STATE_SYNCHRONOUS=FULL``).
        """
        if state is not None:
            return cls(state, rules_path=os.environ.get(RULES_ENV) or None)
        directory = os.environ.get(STATE_DIR_ENV) or (str(default_dir) if default_dir else None)
        if not directory:
            logger.warning("%s is not set: the fraud velocity state is in memory only.", STATE_DIR_ENV)
        state = InProcessFraudState(directory or None, fsync=fsync)
        return cls(state, rules_path=os.environ.get(RULES_ENV) or None)

    def set_rules(self, rules: RuleSet) -> None:
        """Replace the rule set; written to ``rules_path`` (atomically) when there is one."""
        with self._lock:
            if self.rules_path is not None:
                tmp = self.rules_path.with_suffix(".tmp")
                tmp.write_text(json.dumps(rules.to_json(), indent=2), encoding="utf-8")
                os.replace(tmp, self.rules_path)
                self._mtime = self.rules_path.stat().st_mtime
            self._rules = rules

    @property
    def rules(self) -> RuleSet:
        """The rule set, re-read if the file changed (a broken file keeps the last good rules)."""
        if self.rules_path is None:
            return self._rules
        try:
            mtime = self.rules_path.stat().st_mtime
        except OSError:
            return self._rules
        if mtime != self._mtime:
            with self._lock:
                try:
                    self._rules = RuleSet.load(self.rules_path)
                except (ValueError, OSError) as exc:
                    logger.error("Keeping the previous fraud rules: %s is invalid: %s", self.rules_path, exc)
                self._mtime = mtime
        return self._rules
