"""The real Redis the shared-state tests use: one fresh key namespace per test, deleted after.

``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) says where it runs. Without a Redis the
tests skip, except under ``CI=true`` (``.ci/run`` starts one), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from storage.redis import delete_namespace

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> redis.Redis:
    """A client of the test Redis (``decode_responses=True``), or skip (fail under ``CI=true``)."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} does not answer ({exc}); set REDIS_URL or start redis-server")
    return client


def fresh_namespace(client: redis.Redis) -> Iterator[str]:
    """Yield an unused namespace; every key in it is deleted afterwards."""
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    try:
        yield namespace
    finally:
        delete_namespace(client, namespace)
        client.close()
