"""API keys with scopes, checked in constant time; only key digests are kept in memory.

Scopes (``models.settings.SCOPES``) are independent: ``admin`` does not imply ``storefront`` or any
other scope unless the key lists it, so an admin key leaked from a script cannot read customers'
data.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from models.keys import read_keys
from models.settings import SCOPES, check_key

logger = logging.getLogger("shelfwise.serving.auth")
RECHECK_S = 1.0  # how often a server looks whether its keys file changed

API_KEY_HEADER = "X-API-Key"
# RFC 9110 asks 401 answers to name the scheme; this tells a client which header to send.
WWW_AUTHENTICATE = f'ApiKey realm="shelfwise", header="{API_KEY_HEADER}"'


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller a valid key identifies.

    Attributes:
        key_id: first 8 hex digits of the key's sha256: safe to log, never the key itself.
        scopes: the scopes the key grants.
    """

    key_id: str
    scopes: frozenset[str]


class ApiKeyAuth:
    """Resolves ``X-API-Key`` values to principals.

    Args:
        keys: ``{key: [scope, ...]}`` as in ``Settings.api_keys``.
        source: the keys file they came from (``SHELFWISE_API_KEYS=@file``): re-read when it
            changes, so ``shelfwise keys create/revoke`` take effect without a restart.

    Raises:
        ValueError: a key lists a scope outside ``models.settings.SCOPES``, is shorter than
            ``MIN_KEY_LENGTH`` or is a placeholder (``models.settings.check_key``; the message
            shows only the key's first characters).
    """

    def __init__(self, keys: Mapping[str, Iterable[str]], *, source: Path | None = None) -> None:
        self._principals = _principals(keys)
        self._source = source
        self._stamp = _stamp(source) if source is not None else None
        self._checked = time.monotonic()

    def _refresh(self) -> None:
        """Re-read the keys file when it changed (checked at most once per ``RECHECK_S``).

        A file that no longer parses, or holds a weak key, keeps the keys already loaded (and
        logs why): a bad edit must not lock every client out.
        """
        now = time.monotonic()
        if self._source is None or now - self._checked < RECHECK_S:
            return
        self._checked = now
        stamp = _stamp(self._source)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            keys = {key: entry["scopes"] for key, entry in read_keys(self._source).items()}
            self._principals = _principals(keys)
            logger.info("API keys reloaded from %s: %d keys", self._source, len(keys))
        except (OSError, ValueError) as exc:
            logger.error("API keys file %s not reloaded, the loaded keys stay: %s", self._source, exc)

    def authenticate(self, key: str | None) -> Principal | None:
        """Return the principal of ``key``, or ``None`` when it is absent or unknown.

        Every stored digest is compared, with ``hmac.compare_digest``, whether or not an earlier
        one matched, so the time taken does not tell a caller how close a guess was.
        """
        if not key:
            return None
        self._refresh()
        candidate = _digest(key)
        found: Principal | None = None
        for digest, principal in self._principals:
            if hmac.compare_digest(digest, candidate):
                found = principal
        return found


def _principals(keys: Mapping[str, Iterable[str]]) -> list[tuple[bytes, Principal]]:
    principals = []
    for key, scopes in keys.items():
        check_key(key)
        digest = _digest(key)
        key_id = digest.hex()[:8]
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise ValueError(
                f"API key {key_id}... has unknown scopes {unknown}; expected some of {list(SCOPES)}"
            )
        principals.append((digest, Principal(key_id, frozenset(scopes))))
    return principals


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()
