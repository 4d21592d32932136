"""requirements.lock, which `make install` installs with --require-hashes, agrees with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKED_EXTRAS = ("train", "dev")  # what `make install` installs (and `make lock` resolves)


def _lock() -> dict[str, tuple[Version, list[str]]]:
    """name -> (version, hashes) for every requirement in requirements.lock."""
    text = (ROOT / "requirements.lock").read_text()
    entries: dict[str, tuple[Version, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = block.split(" ", 1)[0].strip()
        if "==" not in head:
            continue
        name, version = head.split("==")
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
        entries[canonicalize_name(name)] = (Version(version), hashes)
    return entries


def _pinned() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in LOCKED_EXTRAS:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def test_every_pin_of_pyproject_is_locked_at_the_same_version() -> None:
    lock = _lock()
    wrong = []
    for req in _pinned():
        name = canonicalize_name(req.name)
        if name not in lock:
            wrong.append(f"{req} is not in requirements.lock")
        elif not req.specifier.contains(lock[name][0], prereleases=True):  # 2.13.0 matches 2.13.0+cpu
            wrong.append(f"{req} but the lock has {lock[name][0]}")
    assert not wrong, "run `make lock`:\n" + "\n".join(wrong)


def test_every_locked_file_has_a_hash() -> None:
    lock = _lock()
    assert len(lock) > 100  # the transitive closure, not just the direct pins
    assert not [name for name, (_, hashes) in lock.items() if not hashes]
