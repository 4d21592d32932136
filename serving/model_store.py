"""The models a server answers with: one entry per family, swapped atomically.

Readers never lock: ``get`` reads one immutable mapping reference, and writers replace that whole
reference in a single assignment, so a request sees either the old or the new model, never a mix.
A request holds its model reference until it answers, so in-flight requests finish on the old model.

Hot swap (``refresh``): a cheap probe asks the source which version each family should serve now;
only a family whose version moved is loaded (in the caller's thread, never the event loop),
checked with a smoke query, and swapped in. A version that fails keeps the previous one serving,
with the reason in ``/ready``, the logs and ``shelfwise_model_swaps_total{outcome="failure"}``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from models.errors import ArtifactError, InvalidInputError, ModelUnavailableError, UnknownIdError
from models.families import TABLE
from models.loader import load_model
from models.settings import Settings
from serving.heap import resettle_heap
from serving.logs import incident, scrub_paths
from serving.metrics import record_registry_check, record_swap

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
Probe = Callable[[str], "str | None"]
Outcome = Literal["unchanged", "swapped", "rejected", "unreachable", "unaliased", "reloaded"]


class ModelStore:
    """Per-family models with their versions and load status.

    Build it with ``from_registry`` (production) or ``from_dirs`` (tests, local use); ``reload``
    runs the same source again and swaps every family at once; ``refresh`` swaps only the
    families whose version moved.

    Args:
        families: the families this store serves, in order.
        loader: builds one family's entry; must never raise (it records failures instead).
        probe: the version a family should serve now (``None``: nothing under the alias);
            raises ``ConnectionError`` when the source is unreachable. Without one, ``refresh``
            reloads everything.
    """

    def __init__(
        self, families: Iterable[str], loader: Loader | None = None, probe: Probe | None = None
    ) -> None:
        self.families = tuple(families)
        self.registry: Settings | None = None  # where versions come from, for a registry-backed store
        # Called with each freshly loaded entry before it is swapped in (the app re-applies the
        # recorded stock and catalog changes there); a failure is logged, never blocks the load.
        self.on_load: Callable[[ModelEntry], None] | None = None
        self._loader = loader
        self._probe = probe
        self._write_lock = threading.Lock()  # held only for the reference assignment
        self._load_lock = threading.Lock()  # one reload/refresh at a time (poller vs admin)
        self._rejected: dict[str, str] = {}  # family -> the version that failed, not retried by polls
        self._entries: Mapping[str, ModelEntry] = MappingProxyType(
            {f: ModelEntry(f, "missing", reason="not loaded yet") for f in self.families}
        )

    @classmethod
    def from_registry(cls, settings: Settings) -> ModelStore:
        """Load every ``settings.families`` model under ``settings.model_alias`` from the registry."""

        # Lazy imports: importing mlflow costs about a second, and tests and local runs never need it.
        def load(family: str) -> ModelEntry:
            from models import registry

            fetched = registry.fetch_alias(settings, family, settings.model_alias, remember=False)
            entry = _load_dir(family, fetched.path, str(fetched.version))
            if not getattr(fetched, "from_cache", False):
                registry.remember_alias(settings, fetched)  # only a version that loaded and answered
            return replace(entry, from_cache=bool(getattr(fetched, "from_cache", False)))

        def probe(family: str) -> str | None:
            from models import registry

            return registry.alias_version(settings, family, settings.model_alias)

        store = cls(settings.families, _guarded(load), probe)
        store.registry = settings
        store.reload()
        for entry in store.entries().values():
            if entry.status == "failed":  # a broken aliased version: the last good one may be cached
                _serve_cached(store, settings, entry)
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
        with self._load_lock:
            fresh = {f: self.prepare(self._loader(f)) for f in self.families}
            with self._write_lock:
                for family, entry in fresh.items():
                    old = self._entries.get(family)
                    if entry.status != "loaded" and old is not None and old.status == "loaded":
                        note = f"reload failed, still serving version {old.version}: {entry.reason}"
                        logger.warning("Model %s: %s", family, note)
                        fresh[family] = replace(old, reason=note)
                self._entries = MappingProxyType(fresh)
        return self._entries

    def refresh(self, *, force: bool = False) -> dict[str, Outcome]:
        """Swap in every family whose version moved at the source; leave the others alone.

        Blocking (it loads models): call it from a worker thread. A version that failed before
        is not tried again by a poll (``force=False``) until the alias moves; ``force=True``
        (``POST /v1/admin/reload``) tries it again.

        Returns:
            ``{family: outcome}``: unchanged, swapped, rejected (failed; the previous version
            keeps serving), unreachable (the source did not answer), unaliased (nothing is
            under the alias), or reloaded (a store without a probe reloaded everything).
        """
        if self._probe is None or self._loader is None:
            self.reload()
            resettle_heap()
            return dict.fromkeys(self.families, "reloaded")
        with self._load_lock:
            outcomes = {family: self._refresh_one(family, force) for family in self.families}
        record_registry_check(reachable="unreachable" not in outcomes.values())
        if "swapped" in outcomes.values():
            resettle_heap()  # the old model's cycles collected, the new one frozen
        return outcomes

    def _refresh_one(self, family: str, force: bool) -> Outcome:
        assert self._probe is not None and self._loader is not None
        current = self._entries[family]
        loaded = current.status == "loaded"
        try:
            wanted = self._probe(family)
        except Exception as exc:  # noqa: BLE001 - an unreachable registry never stops serving
            ref = incident(f"Model {family}: registry check failed, keeping version {current.version}", exc)
            if loaded:
                self.swap(replace(current, reason=f"registry unreachable at the last check ({ref})"))
            return "unreachable"
        if wanted is None:
            if loaded:
                self.swap(replace(current, reason="nothing is under the alias any more; kept serving"))
            return "unaliased"
        if loaded and wanted == current.version:
            if current.reason or current.from_cache:  # the registry answers again; the note is stale
                self.swap(replace(current, reason=None, from_cache=False))
            self._rejected.pop(family, None)
            return "unchanged"
        if not force and self._rejected.get(family) == wanted:
            return "rejected"
        return self._swap_in(family, current, wanted)

    def prepare(self, entry: ModelEntry) -> ModelEntry:
        """Run ``on_load`` on a loaded entry (before it serves); returns the entry."""
        if entry.status == "loaded" and self.on_load is not None:
            try:
                self.on_load(entry)
            except Exception as exc:  # noqa: BLE001 - the model still serves; the log says what failed
                incident(f"Model {entry.family}: re-applying recorded changes failed", exc, traceback=True)
        return entry

    def _swap_in(self, family: str, current: ModelEntry, wanted: str) -> Outcome:
        entry = self.prepare(self._loader(family))  # type: ignore[misc]  # guarded: never raises
        if entry.status == "loaded":
            self.swap(entry)
            self._rejected.pop(family, None)
            record_swap(family, ok=True)
            logger.info("Model %s: swapped version %s -> %s", family, current.version, entry.version)
            return "swapped"
        self._rejected[family] = wanted
        record_swap(family, ok=False)
        if current.status == "loaded":
            note = f"version {wanted} was refused, still serving version {current.version}: {entry.reason}"
            self.swap(replace(current, reason=note))
        else:
            self.swap(entry)
            note = entry.reason or "failed"
        logger.error("Model %s: %s", family, note)
        return "rejected"


def _serve_cached(store: ModelStore, settings: Settings, failed: ModelEntry) -> None:
    """At startup, serve the last good cached version of a family whose aliased version is broken."""
    from models import registry

    why = f"the registered version cannot serve: {failed.reason}"
    cached = registry.cached_alias(settings, failed.family, settings.model_alias, why=why)
    if cached is None:
        return
    try:
        entry = _load_dir(failed.family, cached.path, cached.version)
    except Exception:  # noqa: BLE001 - the cached copy is broken too: keep reporting the first failure
        logger.exception(
            "Model %s: the cached version %s does not load either", failed.family, cached.version
        )
        return
    note = f"serving the cached version {cached.version}; the aliased version was refused: {failed.reason}"
    store.swap(replace(entry, reason=note, from_cache=True))


def _load_dir(family: str, directory: str | Path, version: str) -> ModelEntry:
    model = load_model(directory, family=family)
    smoke_check(family, model)
    logger.info("Model %s version %s loaded from %s", family, version, directory)
    return ModelEntry(family, "loaded", model=model, version=version)


def smoke_check(family: str, model: Any) -> None:
    """Ask a freshly loaded model one cheap question before it serves (also warms it up).

    A domain refusal (invalid input, unknown id) still proves the model answers; anything else
    means it cannot serve.

    Raises:
        ArtifactError: the model loaded but fails its smoke query.
    """
    query = TABLE[family].smoke if family in TABLE else None
    warm_up = getattr(model, "warm_up", None)  # e.g. compile a re-ranker before the first request
    if query is None and warm_up is None:
        return
    try:
        if warm_up is not None:
            warm_up()
        if query is not None:
            query(model)
    except (InvalidInputError, UnknownIdError):
        pass
    except Exception as exc:  # noqa: BLE001 - any other failure means it cannot answer requests
        raise ArtifactError(f"it loaded but its smoke query failed with {type(exc).__name__}: {exc}") from exc


def _guarded(load: Loader) -> Loader:
    """Wrap a loader so one family's failure is recorded, never raised to the others."""

    def guarded(family: str) -> ModelEntry:
        hint = f"Train and register it: `shelfwise train {family}`, then POST /v1/admin/reload."
        try:
            return load(family)
        except ModelUnavailableError as exc:
            reason = _strip_prefix(str(exc), family)
            logger.warning("Model %s missing: %s", family, reason)
            return ModelEntry(family, "missing", reason=_with_hint(scrub_paths(reason), hint))
        except ArtifactError as exc:
            ref = incident(f"Model {family} failed to load", exc)
            return ModelEntry(family, "failed", reason=_with_hint(f"its artifact is unusable ({ref})", hint))
        except Exception as exc:  # noqa: BLE001 - a broken model must not stop the others loading
            ref = incident(f"Model {family} failed to load", exc, traceback=True)
            reason = f"loading failed with {type(exc).__name__} ({ref})"
            return ModelEntry(family, "failed", reason=_with_hint(reason, hint))

    return guarded


def _strip_prefix(message: str, family: str) -> str:
    # ModelUnavailableError prefixes its message; get() adds the prefix again when it re-raises.
    prefix = f"The '{family}' model is not available"
    return message.removeprefix(prefix).lstrip(":. ") or "nothing is registered"


def _with_hint(reason: str, hint: str) -> str:
    return reason if "shelfwise train" in reason else f"{reason.rstrip('. ')}. {hint}"
