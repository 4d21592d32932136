"""The FastAPI app factory.

``create_app(settings)`` builds the app from explicit settings (tests, ``shelfwise serve``);
``create_app_from_env()`` is the process entry point for
``uvicorn --factory serving.app:create_app_from_env``.
"""

import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from threadpoolctl import threadpool_limits

from models.settings import Settings, get_settings
from serving.auth import API_KEY_HEADER, ApiKeyAuth
from serving.catalog_changes import reapply
from serving.deps import require_scope
from serving.errors import install_error_handlers
from serving.fraud_runtime import FraudRuntime
from serving.heap import settle_heap
from serving.hotswap import poll_registry
from serving.logs import REQUEST_ID_HEADER, configure_logging
from serving.metrics import instrument
from serving.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from serving.model_store import ModelEntry, ModelStore
from serving.online.eventlog import DurableOnlineState
from serving.online.redis_state import states_from_url
from serving.online.redis_watch import RedisDataWatch
from serving.online.state import InMemoryOnlineState, OnlineState
from serving.ratelimit import RateLimitMiddleware
from serving.routers import ROUTERS, console, pages
from serving.search_cache import SearchAnswerCache

logger = logging.getLogger("shelfwise.serving")

MODEL_DIRS_ENV = "SHELFWISE_MODEL_DIRS"


def create_app(
    settings: Settings,
    *,
    model_store: ModelStore | None = None,
    online_state: OnlineState | None = None,
    fraud_state_dir: Path | None = None,
) -> FastAPI:
    """Build the Shelfwise API.

    Args:
        settings: service configuration (``models.settings.get_settings()``).
        model_store: the models to serve. ``None`` loads ``settings.families`` from the registry
            under ``settings.model_alias`` at startup (the lifespan); until then ``/ready`` is 503.
        online_state: where events and fraud feedback go; default in-process memory.
        fraud_state_dir: where the fraud velocity state persists when ``SHELFWISE_FRAUD_STATE_DIR``
            is unset; ``None`` keeps it in memory.

    Raises:
        ValueError: ``settings.state_url`` is not a Redis URL, or an API key lists an unknown scope.
        ConnectionError: ``settings.state_url`` names a Redis server that does not answer.
    """
    fraud_state, watch = None, None
    if online_state is None and settings.state_url:
        # Replicas share events and fraud state through Redis; fails fast if it does not answer.
        online_state, fraud_state = states_from_url(
            settings.state_url, retention_s=settings.state_retention_days * 86400.0
        )
        watch = RedisDataWatch(online_state.client, online_state.namespace)
    # Only digests of the API keys stay in memory: the app keeps its settings without them.
    public = settings.model_copy(update={"api_keys": {}})
    app = FastAPI(
        title="Shelfwise",
        summary="Recommendations, search, fraud scoring and demand forecasts for online stores.",
        version=_package_version(),
        lifespan=_lifespan(public, load_from_registry=model_store is None),
        docs_url=None,  # served by serving.routers.pages with local assets (no CDN)
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.settings = public
    app.state.auth = ApiKeyAuth(settings.api_keys, source=_keys_source())
    app.state.models = ModelStore(settings.families) if model_store is None else model_store
    app.state.online = InMemoryOnlineState() if online_state is None else online_state
    app.state.redis_watch = watch  # notices Redis losing the shared state (/ready warnings)
    app.state.fraud = FraudRuntime.from_env(  # + rules; the journal as durable as the event log
        default_dir=fraud_state_dir,
        state=fraud_state,
        fsync=settings.state_synchronous == "FULL",
        retention_s=settings.state_retention_days * 86400.0,
    )
    app.state.search_cache = SearchAnswerCache(settings.search_cache_mb)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    pages.mount_assets(app)
    console.mount_assets(app)
    _document_limits(app, public)
    _add_middleware(app, public)
    if not settings.api_keys:
        logger.warning("No API keys configured (SHELFWISE_API_KEYS): every /v1 endpoint answers 401.")
    return app


def _keys_source() -> Path | None:
    """The keys file named by ``SHELFWISE_API_KEYS=@file``, which the server re-reads on change."""
    raw = os.environ.get("SHELFWISE_API_KEYS", "").strip()
    return Path(raw[1:]).expanduser() if raw.startswith("@") else None


def _document_limits(app: FastAPI, settings: Settings) -> None:
    """Put the configured limits that the route checks (``SHELFWISE_MAX_AMOUNT``) into the
    OpenAPI schema, so clients and contract tests see what is accepted."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            amount = (
                schema["components"]["schemas"].get("TransactionIn", {}).get("properties", {}).get("amount")
            )
            if amount is not None:
                amount["maximum"] = settings.max_amount
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    # Starlette runs the last-added middleware outermost: request id, CORS, metrics, the rate
    # limit, then the body limit, so 413s and 429s are counted, logged and carry CORS headers.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimitMiddleware,
        auth=app.state.auth,
        per_minute=settings.rate_limit_per_minute,
        shared_url=settings.state_url,  # replicas share one limit through Redis
    )
    instrument(app, [Depends(require_scope(settings.metrics_scope))] if settings.metrics_scope else [])
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=[API_KEY_HEADER, "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)


def create_app_from_env() -> FastAPI:
    """Settings from ``SHELFWISE_*``; models from ``SHELFWISE_MODEL_DIRS`` if set, else the registry.

    ``SHELFWISE_MODEL_DIRS`` is JSON ``{family: directory}`` of saved models (local runs, tests).
    A served process persists the fraud velocity state under ``SHELFWISE_HOME/fraud-state``
    unless ``SHELFWISE_FRAUD_STATE_DIR`` says otherwise, and, without ``SHELFWISE_STATE_URL``,
    logs events and fraud labels to ``SHELFWISE_EVENT_LOG_PATH`` (default
    ``SHELFWISE_HOME/state/events.db``) before answering, so a restart (even ``kill -9``) loses
    nothing acknowledged.

    BLAS is limited to one thread for the process: every model call is one request's small
    matrix product, and a BLAS thread team per call only adds contention between requests
    (docs/ARCHITECTURE.md has the measurement).
    """
    threadpool_limits(limits=1, user_api="blas")  # process-wide, not a context
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    store = None
    if raw := os.environ.get(MODEL_DIRS_ENV):
        try:
            dirs = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{MODEL_DIRS_ENV} must be JSON {{family: directory}}: {exc}") from exc
        store = ModelStore.from_dirs(dirs, families=settings.families)
    online = None
    if not settings.state_url:  # a shared backend (Redis) keeps its own state
        path = settings.event_log_path or settings.home_dir / "state" / "events.db"
        online = DurableOnlineState(
            path,
            synchronous=settings.state_synchronous,
            retention_s=settings.state_retention_days * 86400.0,
            trim_interval_s=settings.state_trim_interval_s,
        )
    return create_app(
        settings, model_store=store, online_state=online, fraud_state_dir=settings.home_dir / "fraud-state"
    )


def _warn_short_retention(app: FastAPI, settings: Settings) -> None:
    """Say so when the state forgets history the served fraud model's features still look at."""
    entry = app.state.models.entries().get("fraud")
    config = getattr(entry.model, "config_", None) if entry is not None else None
    horizon_s = float(getattr(config, "horizon", 0.0))
    if horizon_s > settings.state_retention_days * 86400.0:
        logger.warning(
            "SHELFWISE_STATE_RETENTION_DAYS=%g is shorter than the fraud model's feature horizon "
            "(%.1f days): velocity features of long windows will undercount.",
            settings.state_retention_days,
            horizon_s / 86400.0,
        )


def _lifespan(
    settings: Settings, *, load_from_registry: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if load_from_registry:
            # Loading downloads and deserialises artifacts: off the event loop.
            app.state.models = await anyio.to_thread.run_sync(ModelStore.from_registry, settings)
        # Stock and catalog changes recorded before (this process, or another replica) apply to the
        # models loaded now and to every model swapped in later.
        await anyio.to_thread.run_sync(_reapply_changes, app)
        for family, entry in app.state.models.entries().items():
            logger.info("Serving %s: %s %s", family, entry.status, entry.version or entry.reason)
        _warn_short_retention(app, settings)
        if settings.freeze_heap:
            settle_heap()  # models and replayed state out of the collector's full passes (p99 pauses)
        # Hot swap: only a registry-backed store has aliases that can move.
        async with poll_registry(app.state.models, settings.reload_interval_s if load_from_registry else 0):
            yield

    return lifespan


def _reapply_changes(app: FastAPI) -> None:
    store: ModelStore = app.state.models
    online: OnlineState = app.state.online

    def on_load(entry: ModelEntry) -> None:
        reapply(entry.family, entry.model, online.catalog_changes())

    store.on_load = on_load
    for entry in store.entries().values():
        store.prepare(entry)


def _package_version() -> str:
    try:
        return version("shelfwise")
    except PackageNotFoundError:
        return "0+unknown"
