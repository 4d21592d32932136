"""Liveness and readiness (no auth: load balancers and orchestrators call them)."""

from typing import Literal

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from serving.deps import StoreDep
from serving.routers.admin import family_statuses
from serving.schemas.admin import HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
async def health() -> HealthResponse:
    """The process is up (it does not check the models: see ``/ready``)."""
    return HealthResponse()


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "A configured model family is not loaded."}},
)
async def ready(store: StoreDep, request: Request, response: Response) -> ReadyResponse:
    """200 only when every configured family is loaded, else 503; the body lists each family."""
    families = family_statuses(store)
    problems = [p for p in (request.app.state.fraud.problem,) if p]
    watch = request.app.state.redis_watch
    # A Redis round trip: on the thread pool, so a stalled Redis never stalls the event loop.
    lost = await run_in_threadpool(watch.check) if watch is not None else None
    warnings = [lost] if lost else []
    is_ready = all(f.status == "loaded" for f in families.values()) and not problems
    if not is_ready:
        response.status_code = 503
    status: Literal["ready", "not_ready"] = "ready" if is_ready else "not_ready"
    return ReadyResponse(status=status, families=families, problems=problems, warnings=warnings)
