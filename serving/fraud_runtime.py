"""What fraud scoring keeps between requests: the online feature state and the rule lists.

Configured by environment (read once when the app is built):

* ``SHELFWISE_FRAUD_STATE_DIR``: directory of the persisted fraud state (journal replayed at
  start, so a restart loses nothing). ``shelfwise serve`` defaults it to ``SHELFWISE_HOME/fraud-state``;
  an app built directly with ``create_app`` and no such variable keeps the state in memory only,
  and a warning says so.
* ``SHELFWISE_FRAUD_RULES``: a JSON file of allow/block lists and rules (``fraud.rules``). It is
  re-read when its modification time changes, so operators edit data, not code, without a restart.

Rules fail closed: a rules file that is invalid when the server starts leaves it without rules to
apply, so fraud scoring answers 503 and ``/ready`` says not ready, naming the problem, until the file
is fixed (it is re-read on change). A file broken later keeps the last good rules in force.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from fraud.online_state import DEFAULT_RETENTION_S, FraudState, InProcessFraudState
from fraud.rules import RuleSet
from models.errors import ModelUnavailableError
from serving.logs import incident

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
        self.problem: str | None = None  # why no rules can be applied (fail closed), else None
        self._good = rules is not None or self.rules_path is None  # a rule set was ever in force
        if self.rules_path is not None:
            self._reload()

    @classmethod
    def from_env(
        cls,
        *,
        default_dir: str | Path | None = None,
        state: FraudState | None = None,
        fsync: bool = False,
        retention_s: float = DEFAULT_RETENTION_S,
    ) -> FraudRuntime:
        """Build from ``SHELFWISE_FRAUD_STATE_DIR`` (else ``default_dir``) and ``SHELFWISE_FRAUD_RULES``.

        A given ``state`` (the shared Redis one) is used as is and no directory is read; ``fsync``
        makes every journal commit survive a power loss (``SHELFWISE_STATE_SYNCHRONOUS=FULL``);
        ``retention_s`` is the history kept per entity (``SHELFWISE_STATE_RETENTION_DAYS``).
        """
        if state is not None:
            return cls(state, rules_path=os.environ.get(RULES_ENV) or None)
        directory = os.environ.get(STATE_DIR_ENV) or (str(default_dir) if default_dir else None)
        if not directory:
            logger.warning("%s is not set: the fraud velocity state is in memory only.", STATE_DIR_ENV)
        state = InProcessFraudState(directory or None, fsync=fsync, retention_s=retention_s)
        return cls(state, rules_path=os.environ.get(RULES_ENV) or None)

    @property
    def persisted(self) -> bool:
        """Whether ``set_rules`` writes a file (else the rules live in this process's memory only)."""
        return self.rules_path is not None

    def set_rules(self, rules: RuleSet) -> None:
        """Replace the rule set; written to ``rules_path`` (atomically and durably) when there is one."""
        with self._lock:
            if self.rules_path is not None:
                _write_durably(self.rules_path, json.dumps(rules.to_json(), indent=2))
                self._mtime = self.rules_path.stat().st_mtime
            self._rules, self._good, self.problem = rules, True, None

    @property
    def rules(self) -> RuleSet:
        """The rule set, re-read if the file changed (a broken file keeps the last good rules).

        Raises:
            ModelUnavailableError: no valid rule set was ever read from the file (fail closed).
        """
        if self.rules_path is not None:
            self._reload()
        if self.problem is not None:
            raise ModelUnavailableError("fraud", self.problem)
        return self._rules

    def _reload(self) -> None:
        assert self.rules_path is not None
        try:
            mtime: float | None = self.rules_path.stat().st_mtime
        except OSError:
            mtime = None  # no file: the empty rule set (or the last rules set through the API)
        if mtime == self._mtime and (mtime is not None or self._good):
            return
        with self._lock:
            try:
                self._rules, self._good, self.problem = RuleSet.load(self.rules_path), True, None
            except (ValueError, OSError) as exc:
                if self._good:
                    logger.error("Keeping the previous fraud rules: %s is invalid: %s", self.rules_path, exc)
                else:
                    ref = incident(f"Fraud rules file {self.rules_path} is invalid; scoring refused", exc)
                    self.problem = f"the fraud rules file (SHELFWISE_FRAUD_RULES) is invalid ({ref})"
            self._mtime = mtime


def _write_durably(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file, fsync it, rename it over ``path``, fsync the folder."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
