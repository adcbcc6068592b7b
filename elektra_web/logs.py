"""The daemons' log output: human-readable text (the default, as quiet as the
log level says), or one JSON object per line for log collectors
(``--log-format json``).

A JSON line has ``time`` (ISO 8601, UTC), ``level``, ``logger`` and
``message``, plus ``request_id`` and ``operation_id`` when the line was
written while a request (or a write operation) ran, and ``exception`` with the
traceback. Each HTTP request and websocket gets a request id
(:class:`RequestIds`): the one the client sent in ``X-Request-Id`` if it is
sane, else a new one; the answer carries it back. clusterd sets the
operation id of a write once it has one (the id its API returns); elektrad
takes it from the ``X-Operation-Id`` header clusterd sends with each write.
uvicorn's own loggers (``uvicorn.error``, ``uvicorn.access``) write through the
same handler.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sys
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "FORMATS",
    "OPERATION_ID",
    "REQUEST_ID",
    "JsonFormatter",
    "RequestIds",
    "new_request_id",
    "quiet_uvicorn",
    "setup",
    "tag_request",
    "uvicorn_log_config",
]

#: The choices of ``--log-format``; the first is the default.
FORMATS = ("text", "json")

#: The id of the request the current task serves (None outside of one).
REQUEST_ID: ContextVar[str | None] = ContextVar("elektra_web_request_id", default=None)
#: The id of the write operation the current task makes or applies.
OPERATION_ID: ContextVar[str | None] = ContextVar("elektra_web_operation_id", default=None)

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Fields of a request's line that a JSON line shows on their own.
_REQUEST_FIELDS = ("client", "method", "path", "status", "duration_ms")
# What a client may choose as an id: it goes into every log line of the
# request, so nothing that could forge a line or bloat the log.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_request_id() -> str:
    """A fresh request id (16 hex digits)."""
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (without the newline)."""
        time = dt.datetime.fromtimestamp(record.created, dt.UTC)
        entry: dict[str, Any] = {
            "time": time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        operation_id = OPERATION_ID.get()
        if operation_id is not None:
            entry["operation_id"] = operation_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(_access_fields(record.args))
        for name in _REQUEST_FIELDS:  # given as extra=, e.g. elektrad's line per request
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _access_fields(args: tuple[Any, ...]) -> dict[str, Any]:
    # uvicorn's access line: (client, method, path, http version, status).
    if len(args) != 5:
        return {}
    client, method, path, _, status = args
    return {"client": client, "method": method, "path": path, "status": status}


def setup(level: str, log_format: str = "text") -> None:
    """Send this process's log records to stderr in ``log_format`` from
    ``level`` up (a no-op where logging is configured already, as under
    pytest)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # One line per call to an elektrad is noise at "info"; failures are logged anyway.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Tortoise says "Tortoise-ORM shutdown" at info whenever a command closes
    # its database (every 'token' command): only its warnings matter, unless
    # the operator asked for everything.
    logging.getLogger("tortoise").setLevel(
        logging.DEBUG if level.lower() == "debug" else logging.WARNING
    )


class _DemotedToDebug(logging.Filter):
    """uvicorn's info lines as debug lines: its start-up and shutdown steps
    ("Waiting for application startup.", "Uvicorn running on ...") and a line
    per websocket accepted, opened and closed. The daemons say themselves
    when they start and stop; the rest drowned everything else (issue 12:
    1,684 lines in 14 minutes of ``up``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True  # warnings and errors stay what they are
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def quiet_uvicorn() -> None:
    """Show uvicorn's info lines only at ``--log-level debug`` (as debug).

    Call it after ``uvicorn.Config(...)``, which (re)configures uvicorn's
    loggers; the filter stays across that anyway (dictConfig keeps a logger's
    filters), and adding it twice is a no-op."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DemotedToDebug) for f in logger.filters):
        logger.addFilter(_DemotedToDebug())


def uvicorn_log_config(log_format: str) -> dict[str, Any] | None:
    """``uvicorn.Config(log_config=...)`` for ``log_format``: uvicorn's own
    text set-up, or none, so that its records reach our JSON handler."""
    if log_format == "json":
        return None
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG


def tag_request(scope: Scope, send: Send, *, operation_header: bool = False) -> Send:
    """Give the request in ``scope`` its id, in the log lines written while it
    is served; returns ``send`` that tells the id in ``X-Request-Id``. With
    ``operation_header``, the ``X-Operation-Id`` the request brings is the
    operation id of its lines (elektrad: clusterd's writes)."""
    given = operation = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value.decode("latin-1")
        elif name == b"x-operation-id" and operation_header:
            operation = value.decode("latin-1")
    request_id = given if given is not None and _SANE_ID.fullmatch(given) else None
    request_id = request_id or new_request_id()
    # Set, never reset: uvicorn serves each request in a task of its own (so
    # nothing leaks into the next one), and its access line and its
    # "Exception in ASGI application" come after the app returns, in the
    # same task: they carry the id too.
    REQUEST_ID.set(request_id)
    if operation is not None and _SANE_ID.fullmatch(operation):
        OPERATION_ID.set(operation)
    if scope["type"] != "http":
        return send
    header = (b"x-request-id", request_id.encode())

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), header]}
        await send(message)

    return send_with_id


class RequestIds:
    """ASGI middleware: :func:`tag_request` for each HTTP request and websocket."""

    def __init__(self, app: ASGIApp, *, operation_header: bool = False) -> None:
        self.app = app
        self.operation_header = operation_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            send = tag_request(scope, send, operation_header=self.operation_header)
        await self.app(scope, receive, send)
