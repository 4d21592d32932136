"""Per-API-key rate limiting: a token bucket per key, answering 429 with ``Retry-After``.

Buckets are keyed by the key's id (a prefix of its sha256, as ``serving.auth.Principal``), never
by the key. Only valid keys get a bucket: a request without a key, or with an unknown one, goes
on to its 401, so guessing keys cannot fill memory with buckets. Limits are per process: with
several replicas (or uvicorn workers) each allows the configured rate on its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from serving.auth import ApiKeyAuth
from serving.errors import problem_response
from serving.metrics import record_rate_limited

TYPE_RATE_LIMITED = "urn:shelfwise:problem:rate-limited"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """``per_minute`` requests per minute per key, with bursts of up to ``per_minute`` requests.

    Not thread-safe on purpose: it runs on the event loop only, where nothing interleaves
    between reading and writing a bucket.

    Args:
        per_minute: sustained rate; must be positive.
        clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError(f"per_minute must be positive, got {per_minute}")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key_id: str) -> float:
        """Take one token for ``key_id``; return 0 when allowed, else the seconds until one is free."""
        now = self.clock()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = self._buckets[key_id] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


class RateLimitMiddleware:
    """Answer 429 problem+json with ``Retry-After`` (whole seconds) when a key's bucket is empty.

    Args:
        app: the wrapped ASGI app.
        auth: resolves ``X-API-Key`` to a principal (the app's ``ApiKeyAuth``).
        per_minute: ``Settings.rate_limit_per_minute``; 0 passes every request through.
    """

    def __init__(self, app: ASGIApp, auth: ApiKeyAuth, per_minute: int) -> None:
        self.app = app
        self.auth = auth
        self.limiter = TokenBucketLimiter(per_minute) if per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limiter is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = next((v for k, v in scope.get("headers", ()) if k == b"x-api-key"), None)
        principal = self.auth.authenticate(key.decode("latin-1")) if key else None
        wait = self.limiter.acquire(principal.key_id) if principal is not None else 0.0
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        record_rate_limited(principal.key_id)  # type: ignore[union-attr]
        retry_after = max(1, math.ceil(wait))
        per_minute = int(self.limiter.capacity)
        response = problem_response(
            429,
            f"This API key sent more than {per_minute} requests per minute "
            f"(SHELFWISE_RATE_LIMIT_PER_MINUTE); retry after {retry_after} s.",
            type_=TYPE_RATE_LIMITED,
            title="Too Many Requests",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
