"""Progress of a training run, told as it happens: which family, which stage, how long so far.

Jobs call ``stage("settings search", estimate_s=120)`` at each stage boundary; whoever started
the run (``shelfwise train``: a rich status line) listens through ``reporting_to``. Without a
listener a stage is only logged, so jobs need not know who, if anyone, watches.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("shelfwise.training")
Listener = Callable[[str, float | None], None]
_LISTENER: contextvars.ContextVar[Listener | None] = contextvars.ContextVar(
    "shelfwise_progress", default=None
)


def stage(name: str, *, estimate_s: float | None = None) -> None:
    """Announce the stage the running job enters (with its expected seconds, when known)."""
    log.info("stage: %s%s", name, f" (about {estimate_s:.0f}s)" if estimate_s else "")
    listener = _LISTENER.get()
    if listener is not None:
        listener(name, estimate_s)


@contextmanager
def reporting_to(listener: Listener) -> Iterator[None]:
    """Send the stages of the jobs run inside the block to ``listener(name, estimate_s)``."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)
