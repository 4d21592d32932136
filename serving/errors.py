"""The one place that turns errors into RFC 9457 problem details (``application/problem+json``).

Routes never catch domain errors: ``models.errors`` exceptions propagate here and become
422 (bad input), 400 (a body that is not JSON), 404 (unknown id), 409 (an idempotency key
reused with another body), 503 (model or online-state backend unavailable); framework errors
keep their status;
anything else is a 500 that logs and leaks no internals. Every body has ``type``, ``title``,
``status`` and ``detail``; 422s add ``errors: [{field, message, type}]`` with locations like
``body.k`` or ``query.k``.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from models.errors import (
    ArtifactError,
    ConflictError,
    InvalidInputError,
    ModelUnavailableError,
    NotFittedError,
    UnknownIdError,
)
from serving.logs import incident, scrub_paths

logger = logging.getLogger("shelfwise.serving.errors")

PROBLEM_JSON = "application/problem+json"
# RFC 9457 lets ``type`` be any URI; URNs say "documented here, not dereferenceable".
TYPE_VALIDATION = "urn:shelfwise:problem:validation-error"
TYPE_UNKNOWN_ID = "urn:shelfwise:problem:unknown-id"
TYPE_CONFLICT = "urn:shelfwise:problem:idempotency-conflict"
TYPE_MALFORMED = "urn:shelfwise:problem:malformed-json"
TYPE_MODEL_UNAVAILABLE = "urn:shelfwise:problem:model-unavailable"
TYPE_STATE_UNAVAILABLE = "urn:shelfwise:problem:state-unavailable"
TYPE_INTERNAL = "urn:shelfwise:problem:internal-error"
# The online state's backends failing in ways a retry can cure (Redis down or slow, the SQLite
# event log locked or its disk failing): 503, never a 500, and nothing was acknowledged.
# Redis answering with an error (READONLY replica, OOM under maxmemory) counts too: RedisError.
STATE_BACKEND_ERRORS: tuple[type[Exception], ...] = (RedisError, sqlite3.DatabaseError)
LOCATIONS = ("body", "query", "path", "header")


class ProblemResponse(JSONResponse):
    """A JSON response with the problem-details media type."""

    media_type = PROBLEM_JSON


def problem_response(
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **members: Any,
) -> ProblemResponse:
    """Build a problem-details response; ``title`` defaults to the status phrase."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        **members,
    }
    if errors is not None:
        body["errors"] = list(errors)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


async def validation_error_handler(request: Request, exc: RequestValidationError) -> ProblemResponse:
    """422 listing every invalid field by location and what is allowed (400 for malformed JSON)."""
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return await _malformed_json(request, err)
    errors = [
        {"field": _loc(err.get("loc", ())), "message": _message(err), "type": err.get("type")}
        for err in exc.errors()
    ]
    detail = f"{len(errors)} invalid field(s): " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem_response(422, detail, type_=TYPE_VALIDATION, title="Invalid request", errors=errors)


async def _malformed_json(request: Request, err: Mapping[str, Any]) -> ProblemResponse:
    """400 saying where the body stops being JSON: line, column and the parser's complaint."""
    loc = err.get("loc", ())
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
    body = await request.body()
    line = body.count(b"\n", 0, pos) + 1
    column = pos - (body.rfind(b"\n", 0, pos) + 1) + 1
    why = (err.get("ctx") or {}).get("error") or "JSON decode error"
    detail = f"The request body is not valid JSON: {why} at line {line}, column {column} (character {pos})"
    return problem_response(
        400,
        detail,
        type_=TYPE_MALFORMED,
        title="Malformed JSON",
        errors=[{"field": "body", "message": detail, "type": "json_invalid"}],
        line=line,
        column=column,
    )


async def invalid_input_handler(request: Request, exc: InvalidInputError) -> ProblemResponse:
    """422 for a value the model refused (the domain names the argument in ``exc.field``)."""
    field = _locate(request, exc.field, exc.value)
    errors = [{"field": field, "message": str(exc), "type": "invalid_input"}] if field else []
    return problem_response(422, str(exc), type_=TYPE_VALIDATION, title="Invalid request", errors=errors)


async def unknown_id_handler(request: Request, exc: UnknownIdError) -> ProblemResponse:
    """404 naming the unknown id and where it was given."""
    field = _locate(request, exc.field, exc.value)
    return problem_response(
        404,
        str(exc),
        type_=TYPE_UNKNOWN_ID,
        title=f"Unknown {exc.kind}",
        errors=[{"field": field, "message": str(exc), "type": "unknown_id"}],
    )


async def conflict_handler(request: Request, exc: ConflictError) -> ProblemResponse:
    """409 for a reused idempotency key with another body, naming the fields that differ."""
    field = _locate(request, exc.field, exc.value)
    return problem_response(
        409,
        str(exc),
        type_=TYPE_CONFLICT,
        title="Idempotency key reused with a different request",
        errors=[{"field": field, "message": str(exc), "type": "idempotency_conflict"}],
        differing_fields=exc.differing,
    )


async def model_unavailable_handler(request: Request, exc: Exception) -> ProblemResponse:
    """503 saying which model is missing and how to get it; clients may retry later."""
    family = getattr(exc, "family", None)
    detail = scrub_paths(str(exc))
    if family is None and isinstance(exc, NotFittedError | ArtifactError):
        ref = incident(f"Model failed on {request.method} {request.url.path}", exc)
        detail = f"The model this endpoint needs cannot answer ({ref})."
    return problem_response(
        503,
        detail,
        type_=TYPE_MODEL_UNAVAILABLE,
        title="Model unavailable",
        headers={"Retry-After": "30"},
        family=family,
    )


async def state_unavailable_handler(request: Request, exc: Exception) -> ProblemResponse:
    """503 when the online state (Redis, the event log) cannot be read or written; retry later."""
    ref = incident(f"Online state backend failed on {request.method} {request.url.path}", exc)
    return problem_response(
        503,
        f"The online state backend is unavailable, so nothing was recorded; retry shortly ({ref}).",
        type_=TYPE_STATE_UNAVAILABLE,
        title="Online state unavailable",
        headers={"Retry-After": "5"},
    )


async def http_exception_handler(request: Request, exc: HTTPException) -> ProblemResponse:
    """Framework and auth errors (401, 403, 404 route, 405, 413) as problem details."""
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def unhandled_error_handler(request: Request, exc: Exception) -> ProblemResponse:
    """500 without internals; the log line carries the id the client sees."""
    error_id = uuid.uuid4().hex[:12]
    # The server logs the traceback too (Starlette re-raises); this line ties it to the request.
    logger.error(
        "Unhandled %s (error_id=%s) on %s %s",
        type(exc).__name__,
        error_id,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return problem_response(
        500,
        f"An unexpected error occurred; report error id {error_id} to the operator.",
        type_=TYPE_INTERNAL,
        error_id=error_id,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler above on ``app``."""
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(UnknownIdError, unknown_id_handler)  # type: ignore[arg-type]
    app.add_exception_handler(ConflictError, conflict_handler)  # type: ignore[arg-type]
    app.add_exception_handler(InvalidInputError, invalid_input_handler)  # type: ignore[arg-type]
    for exc_type in (ModelUnavailableError, NotFittedError, ArtifactError):
        app.add_exception_handler(exc_type, model_unavailable_handler)
    for backend_error in STATE_BACKEND_ERRORS:
        app.add_exception_handler(backend_error, state_unavailable_handler)
    app.add_exception_handler(HTTPException, http_exception_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unhandled_error_handler)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _message(err: Mapping[str, Any]) -> str:
    # Pydantic prefixes messages from our validators with "Value error, "; the field says enough.
    return str(err.get("msg", "invalid")).removeprefix("Value error, ")


def _loc(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts)


def _locate(request: Request, field: str | None, value: Any = None) -> str | None:
    """Turn a domain argument name into a request location (``path.item_id``, ``body.horizon``)."""
    root, dot, _ = (field or "").partition(".")
    if dot and root in LOCATIONS:  # already a location; a bare "query" is the search argument
        return field
    for where, params in (("path", request.path_params), ("query", request.query_params)):
        if root and root in params:
            return f"{where}.{field}"
    if value is not None:
        # The domain may name the kind ("item") rather than the parameter ("item_id"): an id the
        # caller typed into the path or query string is named exactly where it was given.
        for where, params in (("path", request.path_params), ("query", request.query_params)):
            for name, given in params.items():
                if given == str(value):
                    return f"{where}.{name}"
    return f"body.{field}" if field else None
