"""Keep the loaded models out of the cyclic garbage collector's full passes.

A served model is a few hundred thousand long-lived Python objects (id maps, title arrays,
tables). CPython's generation-2 collection walks every one of them whenever enough new
container objects survived, which request handling does all the time: on the 100k-item
recommender a full pass took ~33 ms, a pause that every request in flight waits out (the p99
spikes of the serving benchmarks). ``gc.freeze()`` moves everything alive into a permanent
generation that collections skip; reference counting still frees those objects as usual.
"""

from __future__ import annotations

import gc
import logging
import time

logger = logging.getLogger("shelfwise.serving")


def settle_heap() -> float:
    """Collect once, then freeze what is alive; returns the seconds it took.

    Called after startup (models loaded, online state replayed) and after each hot swap, which
    first unfreezes so the replaced model's reference cycles can be collected.
    """
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    took = time.perf_counter() - started
    logger.debug("Heap settled: %d objects frozen in %.3f s", gc.get_freeze_count(), took)
    return took


def resettle_heap() -> None:
    """``settle_heap`` again if this process froze its heap (``Settings.freeze_heap``): after a
    swap the replaced model must become collectable and the new one frozen."""
    if gc.get_freeze_count():
        settle_heap()
