"""Redis plumbing shared by every online state kept in Redis: the ``SHELFWISE_STATE_URL`` parser,
a checked client, and the key prefix that keeps one shop's keys in one namespace (and one cluster
slot). The states themselves live with what they hold: ``serving.online.redis_state`` (shopper events,
fraud labels, catalog changes) and ``fraud.redis_state`` (velocity histories, answers).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

DEFAULT_NAMESPACE = "default"
REDIS_SCHEMES = ("redis", "rediss", "unix")


def key_prefix(namespace: str) -> str:
    """``shelfwise:{namespace}:``: the start of every key of one namespace (one cluster slot)."""
    if not namespace or any(c in namespace for c in "{}*?[]"):
        raise ValueError(f"namespace must be non-empty without {{}}*?[], got {namespace!r}")
    return f"shelfwise:{{{namespace}}}:"


def delete_namespace(client: redis.Redis, namespace: str) -> int:
    """Delete every key of ``namespace`` (tests, or retiring a shop); returns how many."""
    deleted = 0
    batch: list[str] = []
    for key in client.scan_iter(match=key_prefix(namespace) + "*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            deleted += int(client.delete(*batch))
            batch = []
    if batch:
        deleted += int(client.delete(*batch))
    return deleted


def require_decoded(client: redis.Redis) -> None:
    """Refuse a client that returns bytes: these classes read and write ``str``."""
    if not client.connection_pool.connection_kwargs.get("decode_responses"):
        raise ValueError("the Redis client must be created with decode_responses=True")


def split_url(url: str) -> tuple[str, str]:
    """``SHELFWISE_STATE_URL`` as the URL a Redis client takes and the namespace it names.

    Raises:
        ValueError: the URL is not a Redis URL, or the namespace is not allowed.
    """
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        allowed = ", ".join(f"{s}://" for s in REDIS_SCHEMES)
        raise ValueError(
            f"SHELFWISE_STATE_URL with scheme {parts.scheme!r} is not supported: expected a Redis URL "
            f"({allowed}), "
            "e.g. redis://127.0.0.1:6379/0?namespace=shop1; unset it for the in-process state."
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    namespace = next((v for k, v in query if k == "namespace"), DEFAULT_NAMESPACE)
    key_prefix(namespace)  # validates it
    rest = urlencode([(k, v) for k, v in query if k != "namespace"])
    return urlunsplit(parts._replace(query=rest)), namespace


def connect(url: str) -> tuple[redis.Redis, str]:
    """A checked Redis client and the namespace for ``SHELFWISE_STATE_URL``.

    Raises:
        ValueError: the URL is not a Redis URL.
        ConnectionError: Redis does not answer (the server should not start without its state).
    """
    parts = urlsplit(url)
    clean, namespace = split_url(url)
    client = redis.Redis.from_url(
        clean,
        decode_responses=True,
        socket_connect_timeout=5,
        socket_timeout=5,
        health_check_interval=30,
    )
    where = parts.path if parts.scheme == "unix" else f"{parts.hostname}:{parts.port or 6379}"
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ConnectionError(
            f"SHELFWISE_STATE_URL points at {where} but Redis "
            f"does not answer ({exc}); start Redis or unset SHELFWISE_STATE_URL."
        ) from exc
    return client, namespace
