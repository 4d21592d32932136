"""Pure ASGI middleware (no ``BaseHTTPMiddleware``: it costs a task per request)."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import problem_response, unhandled_error_handler
from serving.logs import REQUEST_ID, REQUEST_ID_HEADER, request_id_from

access_logger = logging.getLogger("shelfwise.access")
QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


class RequestContextMiddleware:
    """Give every request an id, echo it in ``X-Request-ID``, and log one access line.

    The caller's ``X-Request-ID`` is kept when it is 1-128 characters of ``[A-Za-z0-9._:-]``,
    otherwise a uuid4 hex replaces it. The id is in ``REQUEST_ID`` while the request is served,
    so every log line of the request carries it. Outermost: 413s, 429s and 500s get an id too.

    Args:
        app: the wrapped ASGI app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), b"")
        request_id = request_id_from(given.decode("latin-1"))
        token = REQUEST_ID.set(request_id)
        t0 = time.perf_counter()
        status = 500  # what the client gets if the app fails before it starts a response
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Starlette renders 500s outside every middleware, without the id; render it here
            # (same handler: it logs the traceback once, with the error and request ids). Not
            # re-raised: Starlette and uvicorn would log the same error twice more.
            if started:
                raise  # the response is half sent: only the server can end the connection
            response = await unhandled_error_handler(Request(scope), exc)
            await response(scope, receive, send_with_id)
        finally:
            # Probes and scrapes arrive every few seconds from machines: debug, not info.
            level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
            access_logger.log(
                level,
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - t0) * 1000, 3),
                },
            )
            REQUEST_ID.reset(token)


class BodySizeLimitMiddleware:
    """Answer 413 to request bodies larger than ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before any byte is read. A body
    without one (chunked) is counted as it streams; crossing the limit raises an
    ``HTTPException(413)`` from ``receive``, which the route's error handling renders.

    Args:
        app: the wrapped ASGI app.
        max_bytes: the largest body accepted (``Settings.max_body_bytes``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = problem_response(413, self._detail(f"declares {declared} bytes"))
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, self._detail(f"streamed more than {self.max_bytes} bytes"))
            return message

        return counted

    def _detail(self, what: str) -> str:
        limit = f"at most {self.max_bytes} bytes are accepted (SHELFWISE_MAX_BODY_BYTES)"
        return f"The request body {what}; {limit}."


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects a malformed length itself
    return None
