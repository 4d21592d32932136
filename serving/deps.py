"""Typed dependencies: settings, models, online state and API-key scopes.

Routes declare what they need as ``Annotated`` aliases (``RecsysDep``, ``StateDep`` ...); every
object lives on ``app.state`` and is put there by ``serving.app.create_app``.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from forecasting.interface import Forecaster
from fraud.interface import FraudScorer
from models.settings import Settings
from recsys.interface import Recommender
from search.interface import Searcher
from serving.auth import API_KEY_HEADER, WWW_AUTHENTICATE, ApiKeyAuth, Principal
from serving.model_store import ModelStore
from serving.online.state import OnlineState
from serving.search_cache import SearchAnswerCache

M = TypeVar("M")  # a family's interface (recsys.interface.Recommender ...)

# auto_error=False: a missing key must become our 401 problem, not FastAPI's plain 403.
# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` ones in the thread pool,
# a hop per dependency per request for what are attribute reads.
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="API key with scopes.")


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_model_store(request: Request) -> ModelStore:
    """The app's model store."""
    return request.app.state.models


async def get_online_state(request: Request) -> OnlineState:
    """The app's online state backend."""
    return request.app.state.online


async def get_search_cache(request: Request) -> SearchAnswerCache:
    """The app's cache of whole search answers (``serving.search_cache``)."""
    return request.app.state.search_cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ModelStore, Depends(get_model_store)]
StateDep = Annotated[OnlineState, Depends(get_online_state)]
SearchCacheDep = Annotated[SearchAnswerCache, Depends(get_search_cache)]


def _authenticate(request: Request, api_key: str | None) -> Principal:
    """Resolve ``X-API-Key``; 401 (with ``WWW-Authenticate``) when it is missing or unknown."""
    auth: ApiKeyAuth = request.app.state.auth
    principal = auth.authenticate(api_key)
    if principal is None:
        detail = f"Send a valid API key in the {API_KEY_HEADER} header."
        if api_key:
            detail = f"The API key in {API_KEY_HEADER} is not valid."
        raise HTTPException(401, detail, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
    return principal


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through only keys granting ``scope`` (401 without a valid key, 403
    without the scope).

    One flat dependency (the header is its only sub-dependency): FastAPI pays tens of
    microseconds per level of nesting on every request. The header is a plain ``Depends``, not
    ``Security``: an API key has no OAuth scopes for FastAPI to collect, its scope bookkeeping
    cost 10-20 µs a request, and OpenAPI still lists the key as the security scheme.
    """

    async def check(request: Request, api_key: Annotated[str | None, Depends(_api_key_header)]) -> Principal:
        principal = _authenticate(request, api_key)
        if scope not in principal.scopes:
            raise HTTPException(
                403, f"This API key lacks the '{scope}' scope (it has {sorted(principal.scopes)})."
            )
        return principal

    check.__name__ = f"require_{scope}_scope"
    return check


class Served(NamedTuple, Generic[M]):
    """A model and the version it answers as (read together, so a swap never splits them)."""

    model: M
    version: str


@dataclass(frozen=True, slots=True)
class ModelSlot(Generic[M]):
    """A family's place in the store; ``get()`` reads the model currently served there.

    Routes call ``get()`` in their body rather than receiving the model as a dependency, because
    FastAPI resolves dependencies before it validates the request: a malformed request must get
    its 422 even while the model is missing (which is temporary, and a 503 invites a retry).
    """

    store: ModelStore
    family: str

    def get(self) -> Served[M]:
        """The served model and its version; the model satisfies the family's interface
        (``models.families`` checks every registered class against it).

        Raises:
            ModelUnavailableError: the family is not loaded (503 in ``serving.errors``).
        """
        model, version = self.store.get(self.family)
        return Served(model, version)


def _slot(family: str) -> Callable[..., Awaitable[ModelSlot[Any]]]:
    async def slot(request: Request) -> ModelSlot[Any]:
        return ModelSlot(request.app.state.models, family)

    slot.__name__ = f"{family}_slot"
    return slot


RecsysDep = Annotated[ModelSlot[Recommender], Depends(_slot("recsys"))]
SearchDep = Annotated[ModelSlot[Searcher], Depends(_slot("search"))]
FraudDep = Annotated[ModelSlot[FraudScorer], Depends(_slot("fraud"))]
ForecastDep = Annotated[ModelSlot[Forecaster], Depends(_slot("forecasting"))]
