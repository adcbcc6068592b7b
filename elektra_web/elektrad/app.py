"""elektrad's HTTP API (see ``shared/design/elektrad-api.md``), on Starlette.

Handlers parse the request, call the :class:`~.database.KeyDatabase` and shape
the answer; every refused request becomes ``{"name", "message"}`` here, in
:func:`_error_response`, and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..keynames import InvalidKeyName, KeyName, Spelling
from ..logs import RequestIds
from ..monitoring import HEALTH_PATHS
from .changes import MAX_PAGE
from .database import KeyDatabase
from .exceptions import BadRequest, ElektradError, PayloadTooLarge, Unauthorized
from .fences import Fence, parse_fence
from .metrics import ElektradMetrics, RequestMetrics, monitoring_routes
from .mounts import MountSpec
from .views import key_view, root_view

__all__ = ["ELEKTRA_VERSION", "ElektradConfig", "create_app"]

log = logging.getLogger("elektra_web.elektrad")

#: Methods that change nothing: their requests are logged at debug.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The Elektra release whose key model and REST API this daemon follows.
ELEKTRA_VERSION = "0.11.0"
MAX_PRELOAD = 64
MAX_WAIT = 60.0


@dataclass
class ElektradConfig:
    """Everything elektrad is started with."""

    data_dir: Path
    mounts: list[MountSpec] = field(default_factory=list)
    token: str | None = None
    max_body: int = 1024 * 1024
    watch_interval: float = 1.0
    history: int = 10_000
    #: Count requests and writes and serve them at GET /metrics (a benchmark
    #: compares without; health is served either way).
    metrics: bool = True


class JSONUtf8(JSONResponse):
    """The API's JSON: exactly ``application/json; charset=utf-8``."""

    media_type = "application/json; charset=utf-8"


# -- request parsing ---------------------------------------------------------


def _db(request: Request) -> KeyDatabase:
    db: KeyDatabase = request.app.state.db
    return db


def _key(request: Request, param: str = "path") -> tuple[KeyName, Spelling]:
    return KeyName.parse_spelled(request.path_params[param])


async def _body_text(request: Request) -> str:
    limit: int = request.app.state.config.max_body
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        if not declared.isdigit():
            raise BadRequest(f"invalid Content-Length {declared!r}")
        raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 text (byte {exc.start})") from exc


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


async def _body_string(request: Request) -> str:
    """A value or a key name: plain text (one trailing newline dropped) or a
    JSON string."""
    text = await _body_text(request)
    if _is_json(request):
        value = _loads(text)
        if not isinstance(value, str):
            raise BadRequest("the JSON body must be a string")
        return value
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


async def _body_object(request: Request, *fields: str) -> dict[str, str]:
    data = _loads(await _body_text(request))
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object with {', '.join(fields)}")
    for name in fields:
        if not isinstance(data.get(name), str):
            raise BadRequest(f"the body needs {name!r} as a string")
    return {name: data[name] for name in fields}


def _loads(text: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise BadRequest("the body's JSON is nested too deeply") from exc
    # A "\ud800" escape decodes to a lone surrogate, which is no text: it cannot
    # be stored, written to a file or sent back.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest("the body's JSON has an unpaired surrogate (\\ud800-\\udfff)") from exc
    return value


def _operation(request: Request) -> str | None:
    """``X-Operation-Id``: a client's tag for its write, echoed in the change feed."""
    tag = request.headers.get("x-operation-id")
    if tag is not None and (len(tag) > 128 or not tag.isprintable()):
        raise BadRequest("X-Operation-Id must be at most 128 printable characters")
    return tag


def _fence(request: Request) -> Fence | None:
    """``X-Fence: <source>/<revision>``: clusterd's revision of a write; an
    older one than a key already has is refused (see ``fences.py``)."""
    return parse_fence(request.headers.getlist("x-fence"))


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # isdigit() is true for "²", which int() refuses, and int() refuses more
    # than 4300 digits (leading zeros included).
    digits = raw.lstrip("0") or "0"
    if not (raw.isascii() and raw.isdigit()) or len(digits) > 20 or int(digits) > maximum:
        raise BadRequest(f"{name} must be a whole number from 0 to {maximum}, not {raw!r}")
    return int(digits)


# -- handlers ----------------------------------------------------------------


async def version(request: Request) -> Response:
    major, minor, patch = (int(p) for p in ELEKTRA_VERSION.split("."))
    return JSONUtf8(
        {
            "api": 1,
            "elektra": {
                "version": ELEKTRA_VERSION,
                "major": major,
                "minor": minor,
                "patch": patch,
            },
            "instanceId": _db(request).instance_id,
            # Writes honour X-Fence (clusterd tells fenced daemons by this).
            "fencing": True,
            "server": f"elektra-web-elektrad/{__version__}",
        }
    )


async def get_key(request: Request) -> Response:
    db = _db(request)
    preload = _int_param(request, "preload", 0, MAX_PRELOAD)
    await db.refresh()
    # A broken mount hides only its own subtree: a read above it answers the
    # rest, and shows the mount point with its error (see views.py).
    mounts = db.mount_points()
    if not request.path_params.get("path"):
        return JSONUtf8(root_view(db.read(None), preload, mounts))
    name, spelling = _key(request)
    db.check_readable(name)
    view = key_view(name, db.read(name), spelling, preload, mounts)
    if name.is_cascading and view["exists"]:
        # The value shown is the first namespace's that has the key.
        key = db.lookup(name)
        assert key is not None
        view["value"] = key.value
        view["meta"] = dict(key.meta)
        if key.value is None:
            del view["value"]
    return JSONUtf8(view)


async def put_key(request: Request) -> Response:
    name, _ = _key(request)
    value = await _body_string(request)
    await _db(request).set_value(name, value, operation=_operation(request), fence=_fence(request))
    return Response(status_code=200)


async def delete_key(request: Request) -> Response:
    if not request.path_params.get("path"):
        raise BadRequest("refusing to delete the whole key database; name a namespace")
    name, _ = _key(request)
    await _db(request).delete(name, operation=_operation(request), fence=_fence(request))
    return Response(status_code=200)


async def find(request: Request) -> Response:
    db = _db(request)
    await db.refresh()
    query: str = request.path_params["query"]
    spelling = Spelling.CANONICAL if ":/" in query else Spelling.LEGACY
    return JSONUtf8([name.spell(spelling) for name in db.find(query)])


async def set_meta(request: Request) -> Response:
    name, _ = _key(request)
    body = await _body_object(request, "key", "value")
    await _db(request).set_meta(
        name, body["key"], body["value"], operation=_operation(request), fence=_fence(request)
    )
    return Response(status_code=204)


async def delete_meta(request: Request) -> Response:
    name, _ = _key(request)
    body = await _body_object(request, "key")
    await _db(request).delete_meta(
        name, body["key"], operation=_operation(request), fence=_fence(request)
    )
    return Response(status_code=204)


async def move(request: Request) -> Response:
    name, _ = _key(request)
    target = KeyName.parse(await _body_string(request))
    await _db(request).move(name, target, operation=_operation(request), fence=_fence(request))
    return Response(status_code=204)


async def copy(request: Request) -> Response:
    name, _ = _key(request)
    target = KeyName.parse(await _body_string(request))
    await _db(request).copy(name, target, operation=_operation(request), fence=_fence(request))
    return Response(status_code=204)


async def changes(request: Request) -> Response:
    """``GET /kdbChanges?since=REV&wait=SECONDS[&epoch=E][&limit=N]``: the
    change feed, at most ``limit`` changes a page (see :mod:`.changes`)."""
    db = _db(request)
    since = _int_param(request, "since", db.feed.revision, 2**63)
    limit = _int_param(request, "limit", MAX_PAGE, MAX_PAGE)
    raw_wait = request.query_params.get("wait", "0")
    try:
        wait = float(raw_wait)
    except ValueError:
        wait = math.nan
    if not 0 <= wait <= MAX_WAIT:
        raise BadRequest(f"wait must be a number of seconds from 0 to {MAX_WAIT:g}")
    await db.refresh()
    poll = asyncio.ensure_future(
        db.feed.wait(since, wait, request.query_params.get("epoch"), limit)
    )
    gone = asyncio.ensure_future(_disconnected(request))
    await asyncio.wait({poll, gone}, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    if not poll.done():
        # The client left (clusterd stopped, say): end the poll now rather
        # than hold the connection, and a shutdown, for the rest of ``wait``.
        poll.cancel()
        return Response(status_code=204)
    batch = poll.result()
    return JSONUtf8(
        {
            "epoch": db.feed.epoch,
            "revision": batch.revision,
            "reset": batch.reset,
            "changes": [c.as_json() for c in batch.changes],
        }
    )


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def mounts(request: Request) -> Response:
    db = _db(request)
    await db.refresh()
    return JSONUtf8([m.describe() for m in sorted(db.mounts, key=lambda m: m.prefix)])


class _KeyPathConvertor(Convertor[str]):
    """Like Starlette's ``path``, but also across line breaks, which are valid
    in key names (``path`` is ``.*``: a ``%0A`` made the key unreachable)."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("keypath", _KeyPathConvertor())


class _KeyEndpoint(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return await get_key(request)

    async def put(self, request: Request) -> Response:
        return await put_key(request)

    async def delete(self, request: Request) -> Response:
        return await delete_key(request)


class _MetaEndpoint(HTTPEndpoint):
    async def post(self, request: Request) -> Response:
        return await set_meta(request)

    async def delete(self, request: Request) -> Response:
        return await delete_meta(request)


# -- errors, auth, logging ---------------------------------------------------


def _error_response(name: str, message: str, status: int, **headers: str) -> Response:
    return JSONUtf8({"name": name, "message": message}, status_code=status, headers=headers)


async def _elektrad_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ElektradError)
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return _error_response(exc.name, exc.message, exc.status)


async def _invalid_key_name(request: Request, exc: Exception) -> Response:
    return _error_response("InvalidKeyName", str(exc), 400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    names = {404: "NotFound", 405: "MethodNotAllowed"}
    message = {
        404: f"no such resource: {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, exc.detail)
    return _error_response(
        names.get(exc.status_code, "HTTPError"), message, exc.status_code, **(exc.headers or {})
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    error_id = uuid.uuid4().hex[:12]
    log.exception("internal error %s on %s %s", error_id, request.method, request.url.path)
    return _error_response("InternalError", f"internal error (id {error_id})", 500)


class _AuthAndLog:
    """Checks the bearer token (when one is set) and logs one line per request."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_and_note(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if (
                self.expected is not None
                and scope["path"] not in HEALTH_PATHS  # load balancers have no token
                and not self._authorized(scope)
            ):
                error = Unauthorized("missing or wrong bearer token")
                response = _error_response(
                    error.name, error.message, error.status, **{"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send_and_note)
            else:
                await self.app(scope, receive, send_and_note)
        finally:
            client = scope.get("client") or ("-", 0)
            path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
            took = (time.perf_counter() - start) * 1000
            # One line per change at the default level. Reads are most of the
            # traffic (clusterd's health checks and long polls of /kdbChanges,
            # a load balancer's probes, scrapes, page loads) and would drown
            # the rest: they are logged when asked for (debug). A failure of
            # the daemon's own is logged as an error where it happens.
            level = logging.DEBUG if scope["method"] in _READS else logging.INFO
            log.log(
                level,
                '%s "%s %s" %d %.1fms',
                client[0],
                scope["method"],
                path,
                status,
                took,
                # The same as fields of their own, for JSON lines.
                extra={
                    "client": client[0],
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round(took, 1),
                },
            )

    def _authorized(self, scope: Scope) -> bool:
        assert self.expected is not None
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hmac.compare_digest(value, self.expected)
        return False


def create_app(config: ElektradConfig) -> Starlette:
    """The elektrad ASGI app; the database opens and closes with its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = KeyDatabase(config.data_dir, config.mounts, history=config.history)
        await db.open()
        app.state.db = db
        if app.state.metrics is not None:
            app.state.metrics.watch(db)
        watcher = asyncio.create_task(db.watch(config.watch_interval)) if db.mounts else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await db.close()
            log.info("elektrad stopped: key database closed")

    routes = [
        Route("/version", version, methods=["GET"]),
        Route("/kdb", get_key, methods=["GET"]),
        Route("/kdb/{path:keypath}", _KeyEndpoint),
        Route("/kdbFind/{query:keypath}", find, methods=["GET"]),
        Route("/kdbMeta/{path:keypath}", _MetaEndpoint),
        Route("/kdbMv/{path:keypath}", move, methods=["POST"]),
        Route("/kdbCp/{path:keypath}", copy, methods=["POST"]),
        Route("/kdbChanges", changes, methods=["GET"]),
        Route("/mounts", mounts, methods=["GET"]),
        # /healthz, /readyz, and /metrics (loopback only unless elektrad has a token)
        *monitoring_routes(config.data_dir, config.token, metrics=config.metrics),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ElektradError: _elektrad_error,
            InvalidKeyName: _invalid_key_name,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    app.state.config = config
    app.state.metrics = ElektradMetrics() if config.metrics else None
    app.add_middleware(_AuthAndLog, token=config.token)
    # Outside _AuthAndLog: its line per request carries the request's id and
    # clusterd's operation id.
    app.add_middleware(RequestIds, operation_header=True)
    if app.state.metrics is not None:
        # Outermost: counts every request, those the token check refuses too.
        app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    return app
