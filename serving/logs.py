"""Structured logs: one JSON object per line, tagged with the request id of the request being served.

``configure_logging`` installs the formatter on the root logger (and routes uvicorn's loggers
through it); ``REQUEST_ID`` is set by ``serving.middleware.RequestContextMiddleware`` and copied by
Starlette into the worker threads that run ``def`` routes, so every line logged while a request
is served carries its id. API keys never reach a log line: the access line holds the method,
path (no query string), status and duration only.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("shelfwise_request_id", default=None)
REQUEST_ID_HEADER = "X-Request-ID"
# What a caller may send as its own id: 1-128 characters a log parser and a header both survive.
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Fields the access line and callers may add with ``extra=``; everything else on a record is noise.
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "family", "version", "key_id", "client")


# An absolute file path (two or more segments), POSIX or Windows: never shown to clients.
_PATH = re.compile(r"(?:[A-Za-z]:)?[\\/](?:[^\s'\"(),;:\\/]+[\\/])+[^\s'\"(),;:]*")
_log = logging.getLogger("shelfwise.serving")


def scrub_paths(text: str) -> str:
    """``text`` with absolute file paths replaced by ``<path>`` (for answers to clients)."""
    return _PATH.sub("<path>", text)


def incident(message: str, exc: BaseException, *, traceback: bool = False) -> str:
    """Log ``message`` and the exception with a new error id; return what a client may read:
    ``"error id <id>; details in the server log"`` (no paths, no exception text)."""
    error_id = uuid.uuid4().hex[:12]
    _log.error("%s (error_id=%s): %s: %s", message, error_id, type(exc).__name__, exc, exc_info=traceback)
    return f"error id {error_id}; details in the server log"


def request_id_from(header: str | None) -> str:
    """The caller's id when it is well formed, else a new uuid4 hex (never echo arbitrary bytes)."""
    if header and _VALID_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: ts, level, logger, msg, request_id and known extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = REQUEST_ID.get()
        return f"{line} [request_id={request_id}]" if request_id else line


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Send every log line (ours and uvicorn's) to stderr in ``fmt`` ("json" or "text")."""
    # ``uvicorn --no-access-log`` or ``--log-level warning`` (set before the app factory runs)
    # silence uvicorn's access line; they silence ours too.
    uv_access = logging.getLogger("uvicorn.access")
    quiet = (not uv_access.handlers and not uv_access.propagate) or uv_access.level > logging.INFO
    logging.getLogger("shelfwise.access").setLevel(logging.WARNING if quiet else logging.NOTSET)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FAISS announces which CPU build it loaded at INFO: not news for whoever reads the log.
    logging.getLogger("faiss").setLevel(logging.WARNING)
    # uvicorn configures its loggers with handlers of its own before it calls the app factory;
    # route them through ours so the whole process speaks one format. Its access line would
    # repeat ours (``shelfwise.access``, which has the request id and duration): drop it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = name != "uvicorn.access"
