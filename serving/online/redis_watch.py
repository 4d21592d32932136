"""Noticing that Redis lost the shared state: a restart without persistence, a flush, an eviction.

Velocity histories, idempotency records and shoppers' events live only in Redis when replicas
share it (``SHELFWISE_STATE_URL``). Redis configured without persistence (``save ""`` and
``appendonly no``) forgets all of it on a restart, and the server would carry on as if every
customer were new and every retried transaction unseen. :class:`RedisDataWatch` writes an epoch key
into the namespace when the server starts and checks it on every ``/ready`` (orchestrators call it
every few seconds): when the key has vanished the data went with it, which is logged once and shown
in ``/ready``'s ``warnings`` until the server restarts. At start it also warns when Redis keeps
nothing on disk.
"""

from __future__ import annotations

import logging
import time
import uuid

import redis

from storage.redis import key_prefix

logger = logging.getLogger("shelfwise.serving")


class RedisDataWatch:
    """The epoch key of one namespace and what has become of it.

    Args:
        client: the shared state's client (``decode_responses=True``).
        namespace: the state's namespace.
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.key = f"{key_prefix(namespace)}epoch"
        self.lost: str | None = None  # what /ready reports once the data was found gone
        # The first server of a namespace writes the epoch; later ones (replicas) read the same.
        self.client.set(self.key, f"{uuid.uuid4().hex} {time.time():.0f}", nx=True)
        self.epoch = self.client.get(self.key)
        if not self._persistent():
            logger.warning(
                'Redis keeps nothing on disk (save "" and appendonly no): a restart of Redis loses '
                "the fraud velocity histories, idempotency records and shoppers' events it holds."
            )

    def _persistent(self) -> bool:
        try:
            config = self.client.config_get("save") | self.client.config_get("appendonly")
        except redis.RedisError:  # managed Redis often refuses CONFIG: assume it persists
            return True
        return bool(config.get("save")) or config.get("appendonly") == "yes"

    def check(self) -> str | None:
        """None while the data is there; else why it is not (logged once, kept until restart).

        Raises:
            redis.RedisError: Redis does not answer (``/ready`` reports that as a 503).
        """
        if self.lost is None and self.client.get(self.key) != self.epoch:
            self.lost = (
                f"Redis lost the shared state (restart without persistence, flush or eviction) before "
                f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}: fraud velocity histories, "
                "idempotency records and shoppers' events from before then are gone"
            )
            logger.error("%s. Configure Redis persistence (appendonly yes) to keep them.", self.lost)
            self.client.set(self.key, self.epoch or "", nx=True)
        return self.lost
