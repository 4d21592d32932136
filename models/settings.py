"""Typed settings for every Shelfwise process, read from ``SHELFWISE_*`` environment variables.

Built by ``get_settings()`` (never at import time) and passed explicitly: ``create_app(settings)``,
``run_training(..., settings)``. ``.env.example`` documents each field and a test parses it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from models.families import FAMILIES

Scope = Literal["storefront", "checkout", "planner", "admin"]
SCOPES: tuple[str, ...] = ("storefront", "checkout", "planner", "admin")


class Settings(BaseSettings):
    """Service and training configuration. Every field maps to ``SHELFWISE_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="SHELFWISE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(
        default_factory=lambda: find_home()[0],
        description="State directory: MLflow store, artifact cache, online state. Default: the "
        "nearest `.shelfwise` folder in the current folder or above it, else `./.shelfwise`.",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; default sqlite:///<home>/mlflow.db (a server URL works unchanged).",
    )
    experiment: str = Field(default="shelfwise", description="MLflow experiment name for training runs.")
    api_keys: Annotated[dict[str, list[Scope]], NoDecode] = Field(
        default_factory=dict,
        description='JSON {"key": ["storefront", ...]} or "@/path/to/keys.json".',
        repr=False,  # never print keys (logs, tracebacks)
    )
    host: str = Field(default="127.0.0.1", description="Address `shelfwise serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `shelfwise serve` binds.")
    families: list[str] = Field(
        default_factory=lambda: list(FAMILIES),
        description="Model families the server loads.",
    )
    model_alias: str = Field(default="champion", description="Registry alias the server serves.")
    max_batch: int = Field(
        default=1000, ge=1, description="Largest batch of events or transactions per request."
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body accepted.")
    max_amount: float = Field(
        default=1_000_000_000.0,
        gt=0,
        description="Largest transaction amount fraud scoring accepts (a larger one is a 422, not a score).",
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (storefront).")
    state_url: str | None = Field(
        default=None,
        description="Online state backend; default in-process. redis://host:port/db for replicas.",
    )
    event_log_path: Path | None = Field(
        default=None,
        description="SQLite (WAL) log of accepted events and fraud labels, replayed at start; "
        "default <home>/state/events.db.",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Dask scheduler address (tcp://host:8786) `shelfwise train` runs the family jobs on; "
        "default: in this process.",
    )
    tune_budget_minutes: float = Field(
        default=2.0,
        ge=0,
        description="Minutes each family's settings search may take in `shelfwise train` (Optuna on the "
        "store's validation split); 0 trains the defaults without a search.",
    )
    log_level: str = Field(default="info", description="Log level of the server.")
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Log lines: one JSON object per line (ts, level, logger, msg, request_id ...) or text.",
    )
    freeze_heap: bool = Field(
        default=True,
        description="gc.freeze the loaded models after start and each hot swap, so full garbage "
        "collections skip them (a ~33 ms pause per pass on a 100k-item recommender).",
    )
    reload_interval_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds between registry checks for moved aliases (hot swap); 0 disables polling.",
    )
    max_clock_skew_s: float = Field(
        default=300.0,
        ge=0,
        description="Events dated more than this many seconds after the server's clock are refused "
        "(a 422), so a wrong clock cannot pin an event as the most recent for years.",
    )
    state_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite durability of the event log and the fraud journal: NORMAL survives a crash "
        "of the process (kill -9), FULL also a power loss (an fsync per commit; docs/OPERATIONS.md "
        "has the measured cost).",
    )
    state_retention_days: float = Field(
        default=90.0,
        gt=0,
        description="Days of online state kept: events and fraud labels in the event log, and each fraud "
        "entity's history (keep it above the fraud model's feature horizon; a shorter one is warned "
        "about at start).",
    )
    state_trim_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between trims of the event log to the retention while serving.",
    )
    docs_enabled: bool = Field(
        default=True, description="Serve /docs, /redoc and /openapi.json (false hides them in production)."
    )
    metrics_scope: Scope | None = Field(
        default=None,
        description="When set (e.g. admin), GET /metrics needs an API key with this scope; default open.",
    )
    search_cache_mb: float = Field(
        default=32.0,
        ge=0,
        description="Memory for whole search answers of repeated questions (same query, k, filters and "
        "shopper history; a catalog change or a new model version starts afresh); 0 disables it.",
    )
    rate_limit_per_minute: int = Field(
        default=60_000,
        ge=0,
        description="Requests per minute per API key (token bucket, burst = one minute); 0 disables.",
    )

    @field_validator("event_log_path", "metrics_scope", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value  # an empty line in .env means the default

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("@"):
                text = Path(text[1:]).expanduser().read_text()
            if not text:
                return {}
            value = json.loads(text)
        if isinstance(value, dict):
            return {str(k): key_scopes(v) for k, v in value.items()}
        return value

    @property
    def home_dir(self) -> Path:
        """``home`` as an absolute path (MLflow records absolute artifact paths)."""
        return self.home.expanduser().resolve()

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI, defaulting to SQLite inside ``home``."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{self.home_dir / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        """Where MLflow stores artifacts when the tracking store is the embedded SQLite one."""
        return self.home_dir / "mlartifacts"

    @property
    def cache_dir(self) -> Path:
        """Local cache of downloaded model artifacts (served even when the registry is unreachable)."""
        return self.home_dir / "cache"


HOME_NAME = ".shelfwise"
MIN_KEY_LENGTH = 24
PLACEHOLDER_KEYS = ("change-me",)  # the .env.example values: never accepted as keys


def key_scopes(entry: object) -> object:
    """The scopes of one keys-file entry: a scope, a list of scopes, or ``{"scopes": [...], ...}``
    (the format ``shelfwise keys create`` writes, with the key's name and creation time)."""
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, dict):
        return entry.get("scopes", [])
    return entry


def check_key(key: str) -> None:
    """Refuse an API key that is too short to be secret or is a documentation placeholder.

    Raises:
        ValueError: the message names the key by its first characters and says how to make one.
    """
    shown = key[:4] + "..."
    if key.startswith(PLACEHOLDER_KEYS):
        raise ValueError(
            f"API key {shown} is a placeholder from .env.example; make real keys with "
            "`shelfwise keys create --name NAME --scope SCOPE`"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(
            f"API key {shown} has {len(key)} characters; keys need at least {MIN_KEY_LENGTH} "
            "(`shelfwise keys create` makes them)"
        )


def find_home(start: Path | None = None) -> tuple[Path, str]:
    """The home folder when ``SHELFWISE_HOME`` is not set, and how it was found.

    The nearest ``.shelfwise`` folder in ``start`` (default: the current folder) or above it, so
    commands run from a subfolder of a project see the project's models; else a new one in
    ``start``.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / HOME_NAME).is_dir():
            how = "found in the current folder" if folder == here else f"the nearest above {here}"
            return folder / HOME_NAME, how
    return here / HOME_NAME, f"no {HOME_NAME} folder in {here} or above it; commands that write make one here"


def describe_home(settings: Settings) -> str:
    """Where the home is and why there: ``SHELFWISE_HOME``, found up the tree, or new."""
    if os.environ.get("SHELFWISE_HOME"):
        return f"{settings.home_dir} (SHELFWISE_HOME)"
    path, how = find_home()
    return f"{settings.home_dir} ({how})" if path.resolve() == settings.home_dir else str(settings.home_dir)


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and ``.env``), with keyword overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
