"""Background polling of the registry: every server notices a moved alias on its own.

``poll_registry(store, interval_s)`` is an async context manager the app's lifespan enters around
``yield``: it runs ``ModelStore.refresh`` in a worker thread every ``interval_s`` seconds (loading
never blocks the event loop that answers requests) and stops with the app. ``POST
/v1/admin/reload`` runs the same refresh at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio.to_thread

from serving.model_store import ModelStore

logger = logging.getLogger("shelfwise.serving.hotswap")


async def poll_once(store: ModelStore) -> dict[str, str]:
    """One refresh round in a worker thread; never raises (a failed round is logged)."""
    try:
        return dict(await anyio.to_thread.run_sync(store.refresh))
    except Exception:  # a bug in one round must not end polling for the life of the process
        logger.exception("Registry check failed unexpectedly; the next round tries again")
        return {}


async def _poll_forever(store: ModelStore, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        outcomes = await poll_once(store)
        changed = {f: o for f, o in outcomes.items() if o != "unchanged"}
        if changed:
            logger.info("Registry check: %s", changed)


@contextlib.asynccontextmanager
async def poll_registry(store: ModelStore, interval_s: float) -> AsyncIterator[asyncio.Task[None] | None]:
    """Refresh ``store`` every ``interval_s`` seconds while the context is open (0: never).

    Yields:
        The polling task, or ``None`` when polling is disabled.
    """
    if interval_s <= 0:
        yield None
        return
    task = asyncio.create_task(_poll_forever(store, interval_s), name="shelfwise-registry-poll")
    logger.info("Checking the registry for moved aliases every %.3g s", interval_s)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
