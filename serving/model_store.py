"""The models a server answers with: one entry per family, swapped atomically.

Readers never lock: ``get`` reads one immutable mapping reference, and writers replace that whole
reference in a single assignment, so a request sees either the old or the new model, never a mix
(a later issue adds hot swap under load on top of this).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from models.errors import ArtifactError, ModelUnavailableError
from models.loader import load_model
from models.settings import Settings

logger = logging.getLogger("shelfwise.serving.models")

Status = Literal["loaded", "missing", "failed"]


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One family's slot: the model when loaded, otherwise why not.

    Attributes:
        family: model family (recsys, search, fraud, forecasting).
        status: ``loaded``; ``missing`` (nothing registered/aliased); ``failed`` (it broke loading).
        model: the loaded domain object, ``None`` unless loaded.
        version: registry version (or a local label) of the loaded model.
        reason: why the family is not loaded, or a note about the last reload attempt.
        from_cache: the artifact came from the local cache because the registry was unreachable.
    """

    family: str
    status: Status
    model: Any = None
    version: str | None = None
    reason: str | None = None
    from_cache: bool = False


Loader = Callable[[str], ModelEntry]


class ModelStore:
    """Per-family models with their versions and load status.

    Build it with ``from_registry`` (production) or ``from_dirs`` (tests, local use); ``reload``
    runs the same source again and swaps every family at once.

    Args:
        families: the families this store serves, in order.
        loader: builds one family's entry; must never raise (it records failures instead).
    """

    def __init__(self, families: Iterable[str], loader: Loader | None = None) -> None:
        self.families = tuple(families)
        self._loader = loader
        self._write_lock = threading.Lock()
        self._entries: Mapping[str, ModelEntry] = MappingProxyType(
            {f: ModelEntry(f, "missing", reason="not loaded yet") for f in self.families}
        )

    @classmethod
    def from_registry(cls, settings: Settings) -> ModelStore:
        """Load every ``settings.families`` model under ``settings.model_alias`` from the registry."""

        def load(family: str) -> ModelEntry:
            # Lazy: importing mlflow costs about a second, and tests and local runs never need it.
            from models.registry import fetch_alias

            fetched = fetch_alias(settings, family, settings.model_alias)
            entry = _load_dir(family, fetched.path, str(fetched.version))
            return replace(entry, from_cache=bool(getattr(fetched, "from_cache", False)))

        store = cls(settings.families, _guarded(load))
        store.reload()
        return store

    @classmethod
    def from_dirs(
        cls,
        dirs: Mapping[str, str | Path],
        versions: Mapping[str, str] | None = None,
        *,
        families: Iterable[str] | None = None,
    ) -> ModelStore:
        """Load each family from a saved model directory (``{family: dir}``).

        Args:
            dirs: ``{family: directory}`` of saved models.
            versions: the version each family answers as; default ``local:<directory name>``.
            families: the families to serve (default: the keys of ``dirs``); one without a
                directory is reported missing.
        """
        versions = dict(versions or {})

        def load(family: str) -> ModelEntry:
            if family not in dirs:
                raise ModelUnavailableError(
                    family, "no model directory was given for it (SHELFWISE_MODEL_DIRS)"
                )
            directory = Path(dirs[family])
            return _load_dir(family, directory, versions.get(family, f"local:{directory.name}"))

        store = cls(dirs.keys() if families is None else families, _guarded(load))
        store.reload()
        return store

    def get(self, family: str) -> tuple[Any, str]:
        """Return ``(model, version)`` of a loaded family.

        Raises:
            ModelUnavailableError: the family is not configured, missing or failed to load.
        """
        entry = self._entries.get(family)
        if entry is None:
            served = list(self.families)
            raise ModelUnavailableError(
                family, f"this server does not serve it; add it to SHELFWISE_FAMILIES (serving {served})"
            )
        if entry.status != "loaded":
            raise ModelUnavailableError(family, entry.reason)
        return entry.model, entry.version or ""

    def entries(self) -> Mapping[str, ModelEntry]:
        """A consistent snapshot of every family's entry."""
        return self._entries

    @property
    def ready(self) -> bool:
        """True when every served family is loaded."""
        return all(e.status == "loaded" for e in self._entries.values())

    def swap(self, entry: ModelEntry) -> None:
        """Replace one family's entry (one atomic reference assignment for readers)."""
        with self._write_lock:
            self._entries = MappingProxyType({**self._entries, entry.family: entry})

    def reload(self) -> Mapping[str, ModelEntry]:
        """Load every family again from the store's source and swap them in together.

        A family that loaded before but fails now keeps serving its previous model (the
        failure is noted in ``reason``), so a registry outage never takes a working model down.
        """
        if self._loader is None:
            return self._entries
        with self._write_lock:
            fresh = {f: self._loader(f) for f in self.families}
            for family, entry in fresh.items():
                old = self._entries.get(family)
                if entry.status != "loaded" and old is not None and old.status == "loaded":
                    note = f"reload failed, still serving version {old.version}: {entry.reason}"
                    logger.warning("Model %s: %s", family, note)
                    fresh[family] = replace(old, reason=note)
            self._entries = MappingProxyType(fresh)
        return self._entries


def _load_dir(family: str, directory: str | Path, version: str) -> ModelEntry:
    model = load_model(directory, family=family)
    logger.info("Model %s version %s loaded from %s", family, version, directory)
    return ModelEntry(family, "loaded", model=model, version=version)


def _guarded(load: Loader) -> Loader:
    """Wrap a loader so one family's failure is recorded, never raised to the others."""

    def guarded(family: str) -> ModelEntry:
        hint = f"Train and register it: `shelfwise train {family}`, then POST /v1/admin/reload."
        try:
            return load(family)
        except ModelUnavailableError as exc:
            reason = _strip_prefix(str(exc), family)
            logger.warning("Model %s missing: %s", family, reason)
            return ModelEntry(family, "missing", reason=_with_hint(reason, hint))
        except ArtifactError as exc:
            logger.error("Model %s failed to load: %s", family, exc)
            return ModelEntry(family, "failed", reason=_with_hint(f"its artifact is unusable: {exc}", hint))
        except Exception as exc:  # noqa: BLE001 - a broken model must not stop the others loading
            logger.exception("Model %s failed to load", family)
            reason = f"loading failed with {type(exc).__name__}: {exc}"
            return ModelEntry(family, "failed", reason=_with_hint(reason, hint))

    return guarded


def _strip_prefix(message: str, family: str) -> str:
    # ModelUnavailableError prefixes its message; get() adds the prefix again when it re-raises.
    prefix = f"The '{family}' model is not available"
    return message.removeprefix(prefix).lstrip(":. ") or "nothing is registered"


def _with_hint(reason: str, hint: str) -> str:
    return reason if "shelfwise train" in reason else f"{reason.rstrip('. ')}. {hint}"
