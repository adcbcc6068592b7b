"""clusterd's ``/healthz``, ``/readyz`` and ``/metrics``.

- ``GET /healthz``: 200 ``ok`` while the process serves (no token).
- ``GET /readyz``: 200 when clusterd can serve, else 503 (no token); the body names
  the checks, each ``ok`` or ``fail``: ``started`` (the lifespan finished starting and
  clusterd is not stopping), ``database`` (a trivial query answers within 2 s), ``migrations``
  (every migration of this release is applied). A load balancer sends requests to a
  replica only while it is ready.
- ``GET /metrics`` (only with ``--metrics``, else 404): Prometheus's text format, for
  a valid API token of any role (``Authorization: Bearer``, else 401). A VIEWER may
  read everything the metrics tell anyway; the numbers are in ``engine/metrics.py``.
"""

from __future__ import annotations

import asyncio
import logging
import pkgutil
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.types import ExecutionResult
from tortoise.connection import get_connection

from ..engine.metrics import Metrics
from ..engine.services import Services
from ..exceptions import Unauthenticated
from ..models import migrations as migrations_package
from ..monitoring import alive, metrics_response, readiness, watch_event_loop
from ..schema.context import Context
from ..schema.errors import INTERNAL, is_request_error
from .auth import authenticate, unauthenticated
from .database import APP, tortoise_config

__all__ = ["Monitor", "ObservedGraphQL", "observed"]

log = logging.getLogger("elektra_web.clusterd")

#: Seconds the readiness check waits for the database.
_CHECK_TIMEOUT = 2.0
#: The migrations this release needs (the modules of ``models/migrations``).
_MIGRATIONS = frozenset(
    module.name
    for module in pkgutil.iter_modules(migrations_package.__path__)
    if not module.name.startswith("_")
)


class Monitor:
    """Health and metrics of one clusterd app. The lifespan sets ``ready`` once it
    has started, and clears it first thing when it stops."""

    def __init__(
        self, database_url: str, metrics: Metrics | None, services_ref: dict[str, Services]
    ) -> None:
        self.metrics = metrics
        self.ready = False
        self._services_ref = services_ref
        self._connection: str = tortoise_config(database_url)["apps"][APP]["default_connection"]

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/healthz", alive, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
        ]
        if self.metrics is not None:
            routes.append(Route("/metrics", self.scrape, methods=["GET"]))
        return routes

    def start(self) -> list[asyncio.Task[None]]:
        """The background tasks of the metrics (for the lifespan to cancel)."""
        if self.metrics is None:
            return []
        return [asyncio.create_task(watch_event_loop(self.metrics.loop_lag.observe))]

    async def readyz(self, request: Request) -> Response:
        services = self._services_ref.get("services")
        # Not ready from the first moment of a graceful stop (shutdown.going_away),
        # before the lifespan ends.
        started = self.ready and services is not None and not services.stopping.is_set()
        database = migrations = False
        if started:
            try:
                async with asyncio.timeout(_CHECK_TIMEOUT):
                    applied = await self._applied_migrations()
                database = True
                migrations = _MIGRATIONS.issubset(applied)
            except Exception as exc:  # the driver's errors, TimeoutError
                log.warning("readiness: the database did not answer: %s", exc or repr(exc))
        return readiness({"started": started, "database": database, "migrations": migrations})

    async def _applied_migrations(self) -> set[str]:
        """The names of the migrations the database has (one query, which also
        shows the database answers)."""
        _, rows = await get_connection(self._connection).execute_query(
            f"SELECT name FROM tortoise_migrations WHERE app = '{APP}'"
        )
        return {str(row["name"]) for row in rows}

    async def scrape(self, request: Request) -> Response:
        assert self.metrics is not None
        try:
            await authenticate(request)
        except Unauthenticated as exc:
            return unauthenticated(exc)
        except Exception as exc:  # a token not seen lately is looked up: the database
            log.warning("metrics: the token could not be checked: %s", exc or repr(exc))
            return PlainTextResponse("the database is unavailable\n", status_code=503)
        services = self._services_ref.get("services")
        await self.metrics.refresh(
            self._connection, services.bus.subscriber_count if services is not None else 0
        )
        return metrics_response(self.metrics.registry)


#: What ``GraphQLApp`` notes in the request's state for the metrics: the operation
#: type, the outcome and the error codes of an operation that ran.
Observed = tuple[str, str, tuple[str, ...]]


def observed(context: Context, result: ExecutionResult) -> Observed:
    """How a query or mutation went, for ``clusterd_graphql_requests_total``."""
    operation = context.operation_type or "unknown"
    if not result.errors:
        return operation, "ok", ()
    codes = tuple(str((error.extensions or {}).get("code") or "NONE") for error in result.errors)
    if INTERNAL in codes:
        outcome = "internal_error"
    elif result.data is None and all(map(is_request_error, result.errors)):
        outcome = "request_error"
    else:
        outcome = "field_error"
    return operation, outcome, codes


class ObservedGraphQL:
    """The GraphQL endpoint, counted: each HTTP request (by what ``GraphQLApp`` noted,
    else by its answer's status) with its time from the first byte to the last, and
    the open websockets."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics = self.metrics
        if scope["type"] != "http":
            with metrics.websockets.track_inprogress():
                await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        answer: dict[str, Any] = {}

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = message.get("headers", ())
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            seconds = time.perf_counter() - began
            noted: Observed | None = scope.get("state", {}).get("graphql")
            status = answer.get("status", 500)
            if noted is not None:
                metrics.request(noted[0], noted[1], seconds, noted[2])
            elif status == 401:
                metrics.request("unknown", "unauthenticated", seconds, ("UNAUTHENTICATED",))
            elif status >= 500:
                metrics.request("unknown", "internal_error", seconds, (INTERNAL,))
            else:
                content_type = dict(answer.get("headers", ())).get(b"content-type", b"")
                if content_type.startswith((b"text/event-stream", b"multipart/mixed")):
                    metrics.request("subscription", "ok", None)  # a stream: no latency
                elif not content_type.startswith(b"text/html"):  # not GraphiQL's page
                    metrics.request("unknown", "request_error", seconds)
