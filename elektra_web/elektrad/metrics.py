"""elektrad's ``/healthz``, ``/readyz`` and ``/metrics``.

- ``GET /healthz``: 200 ``ok`` while the process serves; no token, even when
  elektrad has one.
- ``GET /readyz``: 200 when elektrad can serve, else 503; no token. Its checks,
  each ``ok`` or ``fail``: ``started`` (the key database is open), ``data_dir`` (a
  file can be created in the data directory) and ``mounts`` (every mounted file was
  read). A *broken* mount (a file that does not parse) is read, so it does not make
  elektrad unready: every other key is served, and taking the daemon out of service
  would not repair the file. ``GET /mounts`` and ``elektrad_mount_broken`` tell.
- ``GET /metrics``: Prometheus's text format. With a token (``--token-file``), the
  token is required as for every other request; without one, only clients on this
  machine (loopback) may read it, which is where elektrad then listens anyway.

What it counts: requests by route, method and status, with their time; writes by
outcome; refusals by the error's name (``ValidationError``: a ``check/*`` refused
the value); the time each file write takes; and, read when scraped, the feed
revision, the keys and the state of each mount.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..monitoring import alive, is_loopback, metrics_response, new_registry, readiness
from . import exceptions

if TYPE_CHECKING:
    from .database import KeyDatabase

__all__ = ["ElektradMetrics", "RequestMetrics", "monitoring_routes"]

#: A request: milliseconds; a change-feed poll waits up to a minute.
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60)
#: One file written (temporary file, fsync, rename) or one SQLite transaction.
_WRITE_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
)  # fmt: skip
#: (method, route) of the writes.
_WRITES = frozenset(
    {
        ("PUT", "/kdb/{path}"),
        ("DELETE", "/kdb/{path}"),
        ("POST", "/kdbMeta/{path}"),
        ("DELETE", "/kdbMeta/{path}"),
        ("POST", "/kdbMv/{path}"),
        ("POST", "/kdbCp/{path}"),
    }
)
#: The names refusals carry (``{"name": ...}``); any other counts as "other".
_REFUSALS = frozenset(
    {
        *(
            error.name
            for error in vars(exceptions).values()
            if isinstance(error, type) and issubclass(error, exceptions.ElektradError)
        ),
        "InvalidKeyName",
        "NotFound",
        "MethodNotAllowed",
        "HTTPError",
        "Forbidden",
    }
)
#: Methods counted by name; a client may send any token as its method.
_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"})
#: The biggest error body read for its name.
_MAX_ERROR_BODY = 64 * 1024


class ElektradMetrics:
    """elektrad's instruments, in a registry of their own (``registry``)."""

    def __init__(self) -> None:
        self.registry = registry = new_registry()
        Gauge(
            "elektrad_build_info", "elektrad's release (the value is 1).", ["version"],
            registry=registry,
        ).labels(__version__).set(1)  # fmt: skip
        self.requests = Counter(
            "elektrad_http_requests",
            "HTTP requests by route (none: refused before routing), method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "elektrad_http_request_duration_seconds",
            "HTTP requests from the first byte to the last, by route (/kdbChanges: long "
            "polls, up to their wait).",
            ["route"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.writes = Counter(
            "elektrad_writes",
            "Write requests (PUT and DELETE /kdb, /kdbMeta, /kdbMv, /kdbCp) by outcome: "
            "applied, refused (4xx), failed (5xx).",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("applied", "refused", "failed"):
            self.writes.labels(outcome)
        self.refusals = Counter(
            "elektrad_refusals",
            "Refused requests by the error's name (ValidationError: the value broke a "
            "check/* of the key; Stale: an older clusterd write; Unauthorized, NotFound...).",
            ["reason"],
            registry=registry,
        )
        self.refusals.labels("ValidationError")
        self.file_writes = Histogram(
            "elektrad_file_write_duration_seconds",
            "Writes to disk by target: mount (a mounted file replaced atomically, fsync "
            "included) or store (a transaction of keys.db).",
            ["target"],
            buckets=_WRITE_BUCKETS,
            registry=registry,
        )
        self._file_writes = {t: self.file_writes.labels(t) for t in ("mount", "store")}
        # Children by their labels: labels() costs more than the counting itself.
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[str, Any] = {}
        self.db: KeyDatabase | None = None
        registry.register(_Scraped(self))

    def watch(self, db: KeyDatabase) -> None:
        """Observe this key database (its writes now, its state when scraped)."""
        self.db = db
        db.on_write = self.file_written

    def file_written(self, target: str, seconds: float) -> None:
        self._file_writes[target].observe(seconds)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        if method not in _METHODS:
            method = "other"
        counter = self._requests.get((route, method, status))
        if counter is None:
            counter = self.requests.labels(route, method, str(status))
            self._requests[route, method, status] = counter
        counter.inc()
        latency = self._latency.get(route)
        if latency is None:
            latency = self._latency[route] = self.latency.labels(route)
        latency.observe(seconds)
        if (method, route) in _WRITES:
            outcome = "applied" if status < 400 else "refused" if status < 500 else "failed"
            self.writes.labels(outcome).inc()

    def refused(self, name: str) -> None:
        self.refusals.labels(name if name in _REFUSALS else "other").inc()

    def collect_scraped(self) -> Iterator[Metric]:
        db = self.db
        if db is None:
            return
        yield GaugeMetricFamily(
            "elektrad_feed_revision",
            "The change feed's revision: changes since elektrad started (it restarts at 0 "
            "with a new epoch).",
            value=db.feed.revision,
        )
        yield GaugeMetricFamily("elektrad_keys", "Keys in the key database.", value=len(db.keys))
        mounts = GaugeMetricFamily(
            "elektrad_mounts", "Mounted files by status (broken: it does not parse).",
            labels=["status"],
        )  # fmt: skip
        broken = sum(1 for mount in db.mounts if mount.broken)
        mounts.add_metric(["ok"], len(db.mounts) - broken)
        mounts.add_metric(["broken"], broken)
        yield mounts
        each = GaugeMetricFamily(
            "elektrad_mount_broken",
            "1 while the file mounted at the prefix does not parse (its keys are refused).",
            labels=["prefix", "format"],
        )
        for mount in db.mounts:
            each.add_metric([str(mount.prefix), mount.format.name], 1 if mount.broken else 0)
        yield each


class _Scraped(Collector):
    def __init__(self, metrics: ElektradMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics.collect_scraped()


class RequestMetrics:
    """Counts every HTTP request (outside the token check, so refusals of it are
    counted too): route, method, status and time; the name of each refusal."""

    def __init__(self, app: ASGIApp, metrics: ElektradMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        answer: dict[str, Any] = {"status": 500}

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif answer["status"] >= 400 and "body" not in answer:
                answer["body"] = message.get("body", b"")  # the {"name", "message"}
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            route = scope.get("route")
            path = getattr(route, "path_format", None) or "none"
            status = answer["status"]
            self.metrics.request(path, scope["method"], status, time.perf_counter() - began)
            if 400 <= status < 500:
                self.metrics.refused(_error_name(answer.get("body", b"")))


def _error_name(body: bytes) -> str:
    if len(body) > _MAX_ERROR_BODY:
        return "other"
    with contextlib.suppress(ValueError):
        name = json.loads(body).get("name")
        if isinstance(name, str):
            return name
    return "other"


def monitoring_routes(data_dir: Path, token: str | None, *, metrics: bool) -> list[BaseRoute]:
    """``/healthz``, ``/readyz`` and, with ``metrics``, ``/metrics`` (the app's state
    holds ``metrics`` and, once open, ``db``)."""

    async def readyz(request: Request) -> Response:
        db: KeyDatabase | None = getattr(request.app.state, "db", None)
        writable = await asyncio.to_thread(_writable, data_dir)
        mounts = db is not None and all(m.document is not None or m.broken for m in db.mounts)
        return readiness({"started": db is not None, "data_dir": writable, "mounts": mounts})

    async def scrape(request: Request) -> Response:
        # With a token, the token check (app.py) has passed; without one, this
        # machine only.
        if token is None and not is_loopback(request.client.host if request.client else None):
            body = {"name": "Forbidden", "message": "metrics are served to this machine only"}
            return JSONResponse(body, 403, media_type="application/json; charset=utf-8")
        metrics: ElektradMetrics = request.app.state.metrics
        return metrics_response(metrics.registry)

    routes: list[BaseRoute] = [
        Route("/healthz", alive, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if metrics:
        routes.append(Route("/metrics", scrape, methods=["GET"]))
    return routes


def _writable(directory: Path) -> bool:
    """Whether a file can be created (and removed) in ``directory`` now."""
    try:
        fd, name = tempfile.mkstemp(prefix=".readyz-", dir=directory)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return True
