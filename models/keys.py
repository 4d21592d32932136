"""The API keys file (``<SHELFWISE_HOME>/api_keys.json``) that ``shelfwise keys`` manages.

One JSON object: ``{"<secret>": {"scopes": [...], "name": "web", "created": "<ISO time>"}}``
(the older ``{"<secret>": ["scope"]}`` form still reads). The file is written whole, through a
temporary file renamed over it, with mode 0600. Servers started with
``SHELFWISE_API_KEYS=@<file>`` (what ``shelfwise serve`` does by default) re-read it when it
changes, so created and revoked keys take effect without a restart.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.errors import InvalidInputError
from models.settings import SCOPES, key_scopes

KEYS_FILE = "api_keys.json"


def read_keys(path: Path) -> dict[str, dict[str, Any]]:
    """The file's entries as ``{secret: {"scopes", "name", "created"}}`` ({} when absent)."""
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text() or "{}")
    out = {}
    for key, entry in raw.items():
        info = entry if isinstance(entry, dict) else {}
        out[str(key)] = {
            "scopes": [str(scope) for scope in key_scopes(entry)],  # type: ignore[attr-defined]
            "name": info.get("name") or key_id(key),
            "created": info.get("created"),
        }
    return out


def write_keys(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Replace the file with ``entries`` (atomic rename, mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def create_key(path: Path, *, name: str, scopes: list[str]) -> str:
    """Add a new key named ``name`` with ``scopes`` and return its secret (shown once).

    Raises:
        InvalidInputError: an unknown scope, no scope, an empty name, or a name already in use.
    """
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise InvalidInputError(
            f"--scope must be one or more of {list(SCOPES)}; got {scopes or 'none'}", field="scope"
        )
    if not name.strip():
        raise InvalidInputError("--name must not be empty", field="name")
    entries = read_keys(path)
    if any(e["name"] == name for e in entries.values()):
        raise InvalidInputError(
            f"a key named {name!r} exists; revoke it first (`shelfwise keys revoke {name}`) or pick "
            "another name",
            field="name",
            value=name,
        )
    secret, entry = new_key(name, scopes)
    entries[secret] = entry
    write_keys(path, entries)
    return secret


def new_key(name: str, scopes: list[str]) -> tuple[str, dict[str, Any]]:
    """A fresh secret (``sw_<first scope>_<random>``) and its file entry (not written)."""
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return f"sw_{scopes[0]}_{secrets.token_urlsafe(24)}", {
        "scopes": sorted(set(scopes)),
        "name": name,
        "created": created,
    }


def revoke_key(path: Path, name: str) -> int:
    """Remove the keys named ``name``; returns how many were removed.

    Raises:
        InvalidInputError: no key has that name (the message lists the names there are).
    """
    entries = read_keys(path)
    kept = {k: e for k, e in entries.items() if e["name"] != name}
    if len(kept) == len(entries):
        names = sorted(e["name"] for e in entries.values())
        raise InvalidInputError(f"no key named {name!r}; the keys are {names}", field="name", value=name)
    write_keys(path, kept)
    return len(entries) - len(kept)


def list_keys(path: Path) -> list[dict[str, Any]]:
    """Name, scopes, creation time and id (a digest prefix) of each key: never the secret."""
    rows = [
        {"name": e["name"], "scopes": e["scopes"], "created": e["created"] or "", "key_id": key_id(k)}
        for k, e in read_keys(path).items()
    ]
    return sorted(rows, key=lambda r: (r["created"], r["name"]))


def key_id(key: str) -> str:
    """The first 8 hex digits of the key's sha256 (as the server logs it)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
