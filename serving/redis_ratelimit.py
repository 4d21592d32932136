"""The rate limit's token buckets in Redis, so replicas share one limit per key (or address).

With ``SHELFWISE_STATE_URL`` set, N replicas would otherwise each allow the configured rate, N
times the limit in total. Here a bucket is one Redis hash updated by one Lua script (atomic, and
timed by Redis's own clock, so replicas' clocks do not matter), called through the asyncio client
so the event loop never waits on a blocking socket. If Redis does not answer, requests are let
through (a limiter must not take the shop down) and the failure is logged at most once a minute.
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from storage.redis import key_prefix, split_url

logger = logging.getLogger("shelfwise.serving")

# KEYS[1]: the bucket; ARGV: capacity, refill rate per second. Returns the seconds to wait (0: go).
_TAKE = """
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or capacity
local updated = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


class RedisTokenBucketLimiter:
    """``per_minute`` requests per minute per bucket, shared by every replica of a namespace.

    Args:
        url: ``SHELFWISE_STATE_URL`` (its ``namespace`` parameter included).
        per_minute: sustained rate and burst size; must be positive.
    """

    def __init__(self, url: str, per_minute: int) -> None:
        if per_minute <= 0:
            raise ValueError(f"per_minute must be positive, got {per_minute}")
        clean, namespace = split_url(url)
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.prefix = f"{key_prefix(namespace)}rate:"
        self.client = aioredis.Redis.from_url(clean, decode_responses=True, socket_timeout=1)
        self._script = self.client.register_script(_TAKE)
        self._warned_at = float("-inf")

    async def take(self, bucket: str) -> float:
        """Take one token from ``bucket``: 0 when allowed, else the seconds until one is free."""
        try:
            wait = await self._script(keys=[self.prefix + bucket], args=[self.capacity, self.rate])
        except (RedisError, OSError) as exc:
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                logger.warning(
                    "Rate limit not applied: Redis did not answer (%s: %s)", type(exc).__name__, exc
                )
            return 0.0
        return float(wait)
