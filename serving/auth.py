"""API keys with scopes, checked in constant time; only key digests are kept in memory.

Scopes (``models.settings.SCOPES``) are independent: ``admin`` does not imply ``storefront`` or any
other scope unless the key lists it, so an admin key leaked from a script cannot read customers'
data.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from models.settings import SCOPES

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

    Raises:
        ValueError: a key lists a scope outside ``models.settings.SCOPES``.
    """

    def __init__(self, keys: Mapping[str, Iterable[str]]) -> None:
        self._principals: list[tuple[bytes, Principal]] = []
        for key, scopes in keys.items():
            digest = _digest(key)
            key_id = digest.hex()[:8]
            unknown = sorted(set(scopes) - set(SCOPES))
            if unknown:
                raise ValueError(
                    f"API key {key_id}... has unknown scopes {unknown}; expected some of {list(SCOPES)}"
                )
            self._principals.append((digest, Principal(key_id, frozenset(scopes))))

    def authenticate(self, key: str | None) -> Principal | None:
        """Return the principal of ``key``, or ``None`` when it is absent or unknown.

        Every stored digest is compared, with ``hmac.compare_digest``, whether or not an earlier
        one matched, so the time taken does not tell a caller how close a guess was.
        """
        if not key:
            return None
        candidate = _digest(key)
        found: Principal | None = None
        for digest, principal in self._principals:
            if hmac.compare_digest(digest, candidate):
                found = principal
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()
