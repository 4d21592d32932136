"""Rate limiting and the key check at the door: a token bucket per API key, or per client address
for requests without a valid key, answering 429 with ``Retry-After``.

Buckets are keyed by the key's id (a prefix of its sha256, as ``serving.auth.Principal``), never
by the key, or by ``ip:<address>`` for requests whose key is missing or unknown, so guessing keys
is limited too. Idle buckets are dropped once there are more than ``MAX_BUCKETS``. A ``/v1``
request without a valid key is answered 401 here, before its body is read or parsed. Limits are
per process, except with ``SHELFWISE_STATE_URL``, where the buckets live in Redis and every
replica shares them (``serving.redis_ratelimit``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from serving.auth import API_KEY_HEADER, WWW_AUTHENTICATE, ApiKeyAuth
from serving.errors import problem_response
from serving.metrics import record_rate_limited

TYPE_RATE_LIMITED = "urn:shelfwise:problem:rate-limited"
NO_KEY = f"Send a valid API key in the {API_KEY_HEADER} header."
MAX_BUCKETS = 100_000  # beyond this, buckets idle for a minute (full again) are dropped


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
            if len(self._buckets) >= MAX_BUCKETS:
                self._drop_idle(now)
            bucket = self._buckets[key_id] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    async def take(self, bucket: str) -> float:
        """:meth:`acquire`, with the signature of the shared limiter (``serving.redis_ratelimit``)."""
        return self.acquire(bucket)

    def _drop_idle(self, now: float) -> None:
        """Forget buckets that have refilled (a forgotten bucket starts full: nothing changes)."""
        refill = self.capacity / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}
        if len(self._buckets) >= MAX_BUCKETS:  # all busy: keep the most recently used half
            recent = sorted(self._buckets.items(), key=lambda kv: kv[1].updated)[MAX_BUCKETS // 2 :]
            self._buckets = dict(recent)


class Limiter(Protocol):
    """A token bucket per bucket id: ``take`` returns 0 (go) or the seconds until a token is free."""

    capacity: float

    async def take(self, bucket: str) -> float: ...


class RateLimitMiddleware:
    """Answer 401 to ``/v1`` requests without a valid key (before the body is read), and 429
    problem+json with ``Retry-After`` (whole seconds) when the key's (or address's) bucket is empty.

    Args:
        app: the wrapped ASGI app.
        auth: resolves ``X-API-Key`` to a principal (the app's ``ApiKeyAuth``).
        per_minute: ``Settings.rate_limit_per_minute``; 0 passes every request through.
    """

    def __init__(
        self, app: ASGIApp, auth: ApiKeyAuth, per_minute: int, shared_url: str | None = None
    ) -> None:
        self.app = app
        self.auth = auth
        self.limiter: Limiter | None = None
        if per_minute > 0 and shared_url:  # replicas: one limit for all of them, kept in Redis
            from serving.redis_ratelimit import RedisTokenBucketLimiter

            self.limiter = RedisTokenBucketLimiter(shared_url, per_minute)
        elif per_minute > 0:
            self.limiter = TokenBucketLimiter(per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = next((v for k, v in scope.get("headers", ()) if k == b"x-api-key"), None)
        principal = self.auth.authenticate(key.decode("latin-1")) if key else None
        api = scope["path"].startswith("/v1/") and scope["method"] != "OPTIONS"
        if principal is None and not api:  # health, metrics, pages: no key, no bucket
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("unknown", 0)
        bucket, who = (principal.key_id, "api_key") if principal else (f"ip:{client[0]}", "address")
        wait = await self.limiter.take(bucket) if self.limiter is not None else 0.0
        if wait > 0:
            record_rate_limited(who)
            await self._too_many(wait, who, scope, receive, send)
        elif principal is None:
            detail = f"The API key in {API_KEY_HEADER} is not valid." if key else NO_KEY
            response = problem_response(401, detail, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _too_many(self, wait: float, who: str, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.limiter is not None
        retry_after = max(1, math.ceil(wait))
        per_minute = int(self.limiter.capacity)
        sender = "This API key" if who == "api_key" else "This client address (without a valid API key)"
        response = problem_response(
            429,
            f"{sender} sent more than {per_minute} requests per minute "
            f"(SHELFWISE_RATE_LIMIT_PER_MINUTE); retry after {retry_after} s.",
            type_=TYPE_RATE_LIMITED,
            title="Too Many Requests",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
