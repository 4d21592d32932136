"""Pure ASGI middleware (no ``BaseHTTPMiddleware``: it costs a task per request)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import problem_response


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
